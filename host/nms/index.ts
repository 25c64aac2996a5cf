// The simulated NMS's public face: the entry point host/nms-hook.ts loads for
// `npm start -- --nms-sim`, and the API tests and tools build on.
export { startSimulatedNms } from "./embedded.ts";
export {
  SimulatedNms, type DeviceAnswer, type DeviceEventEvent, type DeviceRef, type ExchangeOptions, type ExchangeResult, type GetOptions, type PostOptions,
  type RegistrationAnswer, type RegistrationEvent, type RegistrationOutcome, type ReportEvent, type SignatureSettingsValue,
  type SimulatedNmsEvents, type SimulatedNmsOptions,
} from "./sim.ts";
export { Inventory, type DeviceRecord, type EventId, type EventRecord, type MetricRecord } from "./inventory.ts";
export { registrationAnswerTlvs, type ConfigurationProfile, type GroupRef, type ReportSubscription } from "./profile.ts";
export { loadOrCreateNmsKey, readNmsKey, writeNewNmsKey, type NmsKeyFile } from "./key-file.ts";
export { parsePeer, tlvIdText, type Peer } from "./requests.ts";
export { deviceEventLine, registrationLines, reportLines, tlvLines } from "./sim-log.ts";
