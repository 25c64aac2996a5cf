// A simulated NMS: a real CSMP NMS endpoint over NmsClient (so it runs over
// a UDP socket or the in-process LoopNetwork on a virtual clock alike). It
// answers registrations (POST /r) from a configuration profile under the
// draft's "only what differs" rule, signs what it sends with its P-256 key,
// records reports and events (POST /c) in an inventory keyed by EUI-64, and
// sends GET/POST /c to devices and multicast groups, including asynchronous
// answers (the `a`/`r` options). Every registration, report and device event
// is also emitted, for tests and the command line.
import { EventEmitter } from "node:events";
import type { Network } from "../network.ts";
import { CoapCode, CoapType, type CoapMessage } from "./coap.ts";
import { AsyncAnswers } from "./async-answers.ts";
import { NmsClient, realTimers, type CoapResponse, type IncomingRequest, type NmsTimers } from "./client.ts";
import { deviceIdOf, Inventory, sessionIdOf, type DeviceRecord, type EventId } from "./inventory.ts";
import { desiredFromProfile, registrationAnswerTlvs, subscriptionTlv, type ConfigurationProfile, type GroupRef, type ReportSubscription } from "./profile.ts";
import {
  CSMP_DEVICE_PORT, describedIds, getRequest, isMulticastAddress, parsePeer, postPayload, postRequest, tlvIdText, type Peer, type Signing,
} from "./requests.ts";
import { generateNmsKeyPair, nmsKeyPairFromPem, privateKeyPem, publicKeyHex, signPayload, type NmsKeyPair, type SignatureValidityWindow } from "./sign.ts";
import { decodeTlvs, encodeTlvs, type Tlv, type TlvInput } from "./tlv.ts";
import type {
  DeviceAnswer, DeviceRef, ExchangeOptions, ExchangeResult, GetOptions, PostOptions, RegistrationAnswer, SignatureSettingsValue,
  SimulatedNmsEvents, SimulatedNmsOptions,
} from "./sim-types.ts";
import { endpointTransport } from "./transport.ts";

export type * from "./sim-types.ts";

interface ResolvedTarget extends Peer {
  multicast: boolean;
  device: DeviceRecord | undefined;
}

interface RegistrationOverride {
  device: string | null;
  answer: RegistrationAnswer;
  /** Registrations left to answer this way (undefined: until changed). */
  remaining?: number;
}

interface PendingRedirect {
  device: string | null;
  url: string;
  immediate: boolean;
}

function isSuccess(code: number | null): boolean {
  return code === null || code >> 5 === 2;
}

export class SimulatedNms extends EventEmitter<SimulatedNmsEvents> {
  readonly client: NmsClient;
  readonly inventory: Inventory;
  readonly keys: NmsKeyPair;
  /** Sign registration answers and POSTs. */
  signing: boolean;
  /** The profile of devices without their own. */
  profile: ConfigurationProfile;
  validityBeforeS: number;
  validityAfterS: number;
  readonly devicePort: number;
  asyncMarginMs: number;
  private readonly timers: NmsTimers;
  private readonly wall: () => number;
  private readonly profiles = new Map<string, ConfigurationProfile>();
  private readonly pending: AsyncAnswers;
  private overrides: RegistrationOverride[] = [];
  private redirects: PendingRedirect[] = [];
  private closed = false;

  constructor(options: SimulatedNmsOptions) {
    super();
    const clock = options.clock ?? options.timers;
    this.timers = clock ?? realTimers;
    this.pending = new AsyncAnswers(this.timers);
    this.wall = options.wallTimeMs ?? (clock?.wallTimeMs ? () => clock.wallTimeMs!() : () => Date.now());
    if (options.client) this.client = options.client;
    else if (options.transport) {
      this.client = new NmsClient(options.transport, {
        ...options.coapTiming, timers: this.timers, random: options.random, onError: (e) => this.warn(e),
      });
    } else throw new Error("SimulatedNms needs a transport or a client");
    this.keys = options.key === undefined ? generateNmsKeyPair() : typeof options.key === "string" ? nmsKeyPairFromPem(options.key) : options.key;
    this.signing = options.signing ?? true;
    this.validityBeforeS = options.validityBeforeS ?? 60;
    this.validityAfterS = options.validityAfterS ?? 3600;
    this.profile = options.profile ?? {};
    for (const [eui, p] of Object.entries(options.profiles ?? {})) this.profiles.set(eui.toUpperCase(), p);
    this.inventory = new Inventory(options.admission ?? "open", options.allowed ?? []);
    this.devicePort = options.devicePort ?? CSMP_DEVICE_PORT;
    this.asyncMarginMs = options.asyncMarginMs ?? 5000;
    this.client.onRequest((req) => this.onDeviceRequest(req));
  }

  /** Binds an endpoint on a host Network (UdpNetwork or LoopNetwork) and starts an NMS on it. */
  static async bind(network: Network, address: string, port: number, options: Omit<SimulatedNmsOptions, "transport" | "client"> = {}): Promise<SimulatedNms> {
    const endpoint = await network.bind(address, port);
    return new SimulatedNms({ ...options, transport: endpointTransport(endpoint) });
  }

  // ---- identity and time -------------------------------------------------------

  /** The public key for the devices' configuration (`nms.key`): 130 hex digits. */
  get publicKeyHex(): string {
    return publicKeyHex(this.keys);
  }

  /** The private key as PKCS#8 PEM (to keep the NMS's identity across runs). */
  get keyPem(): string {
    return privateKeyPem(this.keys);
  }

  /** The NMS's wall time, POSIX seconds. */
  nowPosix(): number {
    return Math.floor(this.wall() / 1000);
  }

  /** The default validity window of a signature made now. */
  validityWindow(): SignatureValidityWindow {
    const now = this.nowPosix();
    return { notBefore: Math.max(0, now - this.validityBeforeS), notAfter: now + this.validityAfterS };
  }

  private signer(signed: boolean | undefined, validity?: SignatureValidityWindow): Signing | null {
    return (signed ?? this.signing) ? { keys: this.keys, validity: validity ?? this.validityWindow() } : null;
  }

  // ---- inventory and configuration ---------------------------------------------

  /** The inventory record of a device, by EUI-64. */
  device(eui64: string): DeviceRecord | undefined {
    return this.inventory.get(eui64);
  }

  get devices(): DeviceRecord[] {
    return [...this.inventory.devices.values()];
  }

  profileOf(eui64: string): ConfigurationProfile {
    return this.profiles.get(eui64.toUpperCase()) ?? this.profile;
  }

  /**
   * Sets a device's profile (or the default one with device omitted). A
   * known device's desired configuration follows at once; it reaches the
   * device at its next registration (or use the POST helpers now).
   */
  setProfile(profile: ConfigurationProfile, device?: string): void {
    if (device === undefined) this.profile = profile;
    else this.profiles.set(device.toUpperCase(), profile);
    for (const d of this.inventory.devices.values()) {
      if (device !== undefined && d.eui64 !== device.toUpperCase()) continue;
      if (device === undefined && this.profiles.has(d.eui64)) continue;
      d.desired = desiredFromProfile(d.sessionId, this.profileOf(d.eui64));
    }
  }

  /**
   * Answers the next `times` registrations (default: all, until changed) of
   * one device or of every device with 4.03, 4.04, or not at all ("drop"),
   * to exercise the device's back-off. "accept" clears the rule.
   */
  setRegistrationAnswer(answer: RegistrationAnswer, options: { device?: string; times?: number } = {}): void {
    const device = options.device?.toUpperCase() ?? null;
    this.overrides = this.overrides.filter((o) => o.device !== device);
    if (answer !== "accept") this.overrides.push({ device, answer, remaining: options.times });
  }

  /** The next 2.03 (to one device, or any) carries only an NMSRedirectRequest: the device goes to `url`. One-shot. */
  redirectNextRegistration(url: string, immediate = true, device?: string): void {
    this.redirects.push({ device: device?.toUpperCase() ?? null, url, immediate });
  }

  private takeOverride(eui64: string): RegistrationAnswer {
    const o = this.overrides.find((x) => x.device === eui64) ?? this.overrides.find((x) => x.device === null);
    if (!o) return "accept";
    if (o.remaining !== undefined && --o.remaining <= 0) this.overrides = this.overrides.filter((x) => x !== o);
    return o.answer;
  }

  private takeRedirect(eui64: string): PendingRedirect | undefined {
    const r = this.redirects.find((x) => x.device === eui64) ?? this.redirects.find((x) => x.device === null);
    if (r) this.redirects = this.redirects.filter((x) => x !== r);
    return r;
  }

  // ---- requests from devices -----------------------------------------------------

  private warn(e: Error): void {
    this.emit("warning", e);
  }

  private onDeviceRequest(req: IncomingRequest): void {
    const con = req.message.type === CoapType.Confirmable;
    const isPost = req.message.code === CoapCode.Post;
    if (req.path === "/r" && isPost) this.onRegistration(req);
    else if (req.path === "/c" && isPost) this.onReport(req);
    else if (con) req.respond(req.path === "/r" || req.path === "/c" ? CoapCode.MethodNotAllowed : CoapCode.NotFound);
  }

  private decodeOrWarn(req: IncomingRequest, what: string): Tlv[] | null {
    try {
      return decodeTlvs(req.payload);
    } catch (e) {
      this.warn(new Error(`${what} from [${req.address}]:${req.port}: ${(e as Error).message}`));
      if (req.message.type === CoapType.Confirmable) req.respond(CoapCode.BadRequest);
      return null;
    }
  }

  private onRegistration(req: IncomingRequest): void {
    const from = parsePeer(`[${req.address}]:${req.port}`);
    const request = this.decodeOrWarn(req, "registration");
    const eui64 = request ? deviceIdOf(request) ?? null : null;
    const base = { eui64, from, request: request ?? [] };
    if (!request || !eui64) {
      if (request) {
        this.warn(new Error(`registration from [${from.address}]:${from.port} without DeviceID`));
        if (req.message.type === CoapType.Confirmable) req.respond(CoapCode.BadRequest);
      }
      this.emit("registration", { ...base, device: null, outcome: "malformed", code: request ? CoapCode.BadRequest : null, answer: [] });
      return;
    }
    const now = this.wall();
    if (!this.inventory.admits(eui64)) {
      req.respond(CoapCode.Forbidden);
      this.emit("registration", { ...base, device: null, outcome: "forbidden", code: CoapCode.Forbidden, answer: [] });
      return;
    }
    const device = this.inventory.ensure(eui64, { ...from, coapPort: this.devicePort }, this.profileOf(eui64));
    this.inventory.recordRegistration(device, request, now);
    const withReason = device.lastRegReason === undefined ? base : { ...base, lastRegReason: device.lastRegReason };
    const override = this.takeOverride(eui64);
    if (override !== "accept") {
      // A refusal leaves the device unregistered here as well.
      device.registered = false;
      const code = override === "forbidden" ? CoapCode.Forbidden : override === "not-found" ? CoapCode.NotFound : null;
      if (code !== null) req.respond(code);
      const outcome = override === "drop" ? "dropped" : override;
      this.emit("registration", { ...withReason, device, outcome, code, answer: [] });
      return;
    }
    const redirect = this.takeRedirect(eui64);
    const tlvs: TlvInput[] = redirect
      ? [{ type: "NMSRedirectRequest", value: { url: redirect.url, immediate: redirect.immediate } }]
      : registrationAnswerTlvs(device.desired, device.reported);
    const body = encodeTlvs(tlvs);
    const payload = this.signing ? signPayload(body, this.keys, this.validityWindow()) : body;
    req.respond(CoapCode.Valid, payload);
    if (redirect) device.registered = false;
    else this.inventory.markRegistered(device, now);
    this.emit("registration", {
      ...withReason, device, outcome: redirect ? "redirected" : "registered", code: CoapCode.Valid, answer: decodeTlvs(payload),
    });
  }

  /** The device a POST /c belongs to: by SessionID, then DeviceID, then exact source address and port. */
  private reporter(tlvs: readonly Tlv[], from: Peer): DeviceRecord | null {
    const session = sessionIdOf(tlvs);
    if (session !== undefined) return this.inventory.bySession(session) ?? null;
    const eui = deviceIdOf(tlvs);
    if (eui !== undefined) return this.inventory.get(eui) ?? null;
    for (const d of this.inventory.devices.values()) if (d.address === from.address && d.port === from.port) return d;
    return null;
  }

  private onReport(req: IncomingRequest): void {
    const tlvs = this.decodeOrWarn(req, "POST /c");
    if (!tlvs) return;
    const from = parsePeer(`[${req.address}]:${req.port}`);
    const device = this.reporter(tlvs, from);
    const recording = device ? this.inventory.recordReport(device, tlvs, this.wall(), from) : null;
    const answered = this.pending.deliver(device?.eui64 ?? null, from, tlvs);
    // Reports travel NON and get no answer (draft: the NMS handles errors silently); a CON is acknowledged.
    if (req.message.type === CoapType.Confirmable) req.respond(CoapCode.Changed);
    this.emit("report", { device, from, tlvs, recording, answered });
    if (device && recording) for (const event of recording.newEvents) this.emit("event", { device, event });
  }

  // ---- requests to devices -----------------------------------------------------

  private resolve(target: DeviceRef): ResolvedTarget {
    if (typeof target === "string" && /^[0-9a-fA-F]{16}$/.test(target)) {
      const d = this.inventory.get(target);
      if (!d) throw new Error(`unknown device ${target.toUpperCase()} (not registered with this NMS)`);
      return { address: d.address, port: d.coapPort, multicast: false, device: d };
    }
    const peer = typeof target === "string"
      ? parsePeer(target, this.devicePort)
      : parsePeer(`[${target.address.replace(/^\[|\]$/g, "")}]:${target.port ?? this.devicePort}`);
    const multicast = isMulticastAddress(peer.address);
    return { ...peer, multicast, device: multicast ? undefined : this.inventory.byAddress(peer.address) };
  }

  private answerOf(r: CoapResponse): DeviceAnswer {
    let tlvs: Tlv[];
    try {
      tlvs = decodeTlvs(r.message.payload);
    } catch (e) {
      throw new Error(`undecodable answer from [${r.address}]:${r.port}: ${(e as Error).message}`);
    }
    const from = parsePeer(`[${r.address}]:${r.port}`);
    return { eui64: this.inventory.byAddress(from.address)?.eui64 ?? null, from, code: r.message.code, tlvs };
  }

  private async exchange(t: ResolvedTarget, message: CoapMessage, deferred: boolean, expected: ReadonlySet<string>, o: ExchangeOptions): Promise<ExchangeResult> {
    if (this.closed) throw new Error("NMS closed");
    if (!deferred) {
      const answer = this.answerOf(await this.client.request(message, t.address, t.port, o.timeoutMs === undefined ? {} : { timeoutMs: o.timeoutMs }));
      return { code: answer.code, tlvs: answer.tlvs, answers: [answer] };
    }
    // Answered later by a NON POST /c (or elsewhere with r, or not at all):
    // the request goes out once; a CON among them is only ACKed empty.
    if (!(o.awaitAsync ?? o.r === undefined) || expected.size === 0) {
      this.client.send(message, t.address, t.port);
      return { code: null, tlvs: [], answers: [] };
    }
    const windowMs = o.timeoutMs ?? (o.a ?? 0) * 1000 + this.asyncMarginMs;
    const wait = this.pending.wait(expected, t.multicast ? null : t.address, windowMs, !t.multicast);
    try {
      this.client.send(message, t.address, t.port);
    } catch (e) {
      wait.cancel();
      throw e;
    }
    const answers = await wait.promise;
    return { code: null, tlvs: answers[0]?.tlvs ?? [], answers };
  }

  /**
   * GET /c (no ids: the TlvIndex), GET /c?q=ids or GET /c/{id}. With `a`
   * (or to a multicast address, which needs `a`) the answers come as NON
   * POST /c: unicast waits for the first, multicast collects them until the
   * window closes. With `r` the answer goes elsewhere and nothing is
   * awaited (unless awaitAsync).
   */
  async get(target: DeviceRef, ids: readonly (number | string)[] = [], o: GetOptions = {}): Promise<ExchangeResult> {
    const t = this.resolve(target);
    const idTexts = ids.map(tlvIdText);
    const deferred = t.multicast || o.a !== undefined || o.r !== undefined;
    if (t.multicast && o.a === undefined && o.r === undefined) throw new Error("a multicast GET is answered only asynchronously: give the a option");
    const confirmable = o.confirmable ?? !deferred;
    if (t.multicast && confirmable) throw new Error("a multicast request must be NON");
    const message = getRequest(idTexts, { confirmable, a: o.a, r: o.r, byPath: o.byPath });
    return this.exchange(t, message, deferred, new Set(idTexts.length ? idTexts : ["1"]), o);
  }

  /**
   * POST /c with TLVs, signed unless told otherwise. A CON gets the device's
   * code and output TLVs; NON, multicast, `a` and `r` requests get no CoAP
   * answer, but a DescriptionRequest among the TLVs is answered
   * asynchronously and awaited like a GET with `a`.
   */
  async post(target: DeviceRef, tlvs: readonly TlvInput[], o: PostOptions = {}): Promise<ExchangeResult> {
    const t = this.resolve(target);
    if (t.multicast && o.groupMatch === undefined) {
      throw new Error("a multicast POST must carry GroupMatch (groupMatch option; null sends one without on purpose)");
    }
    const deferred = t.multicast || o.a !== undefined || o.r !== undefined || o.confirmable === false;
    const confirmable = o.confirmable ?? !deferred;
    if (t.multicast && confirmable) throw new Error("a multicast request must be NON");
    const payload = postPayload(tlvs, o.groupMatch ?? undefined, this.signer(o.signed, o.validity));
    const message = postRequest(payload, { confirmable, a: o.a, r: o.r });
    return this.exchange(t, message, deferred, new Set(describedIds(tlvs)), o);
  }

  /** Applies a change to the NMS's desired configuration of the devices a successful POST reached. */
  private remember(target: DeviceRef, o: PostOptions, result: ExchangeResult, change: (d: DeviceRecord) => void): void {
    if (!isSuccess(result.code)) return;
    const t = this.resolve(target);
    if (!t.multicast) {
      if (t.device) change(t.device);
      return;
    }
    const g = o.groupMatch;
    if (!g) return;
    for (const d of this.inventory.devices.values()) if (d.desired.groups.some((x) => x.type === g.type && x.id === g.id)) change(d);
  }

  // ---- operations ------------------------------------------------------------------

  /** GroupAssign: the device joins `group`, replacing its group of that type (never by multicast). */
  async assignGroup(target: DeviceRef, group: GroupRef, o: PostOptions = {}): Promise<ExchangeResult> {
    const r = await this.post(target, [{ type: "GroupAssign", value: { type: group.type, id: group.id } }], o);
    this.remember(target, o, r, (d) => {
      d.desired.groups = [...d.desired.groups.filter((g) => g.type !== group.type), { ...group }];
    });
    return r;
  }

  /** GroupEvict: the device leaves its group of `type` (only if its id matches, when given). */
  async evictGroup(target: DeviceRef, group: { type: number; id?: number }, o: PostOptions = {}): Promise<ExchangeResult> {
    const value: Record<string, unknown> = { type: group.type };
    if (group.id !== undefined) value.id = group.id;
    const r = await this.post(target, [{ type: "GroupEvict", value }], o);
    this.remember(target, o, r, (d) => {
      d.desired.groups = d.desired.groups.filter((g) => g.type !== group.type || (group.id !== undefined && g.id !== group.id));
    });
    return r;
  }

  /** ReportSubscribe: what the device reports, how often. */
  async setReportSubscription(target: DeviceRef, subscription: ReportSubscription, o: PostOptions = {}): Promise<ExchangeResult> {
    const s: ReportSubscription = { ...subscription, tlvid: subscription.tlvid.map((id) => tlvIdText(id)) };
    const r = await this.post(target, [subscriptionTlv(s)], o);
    this.remember(target, o, r, (d) => {
      d.desired.reportSubscribe = s;
    });
    return r;
  }

  /** NMSSettings (42): the registration back-off bounds in seconds; an absent one stays as it is. */
  async setRegIntervals(target: DeviceRef, intervals: { min?: number; max?: number }, o: PostOptions = {}): Promise<ExchangeResult> {
    const value: Record<string, unknown> = {};
    if (intervals.min !== undefined) value.regIntervalMin = intervals.min;
    if (intervals.max !== undefined) value.regIntervalMax = intervals.max;
    return this.post(target, [{ type: "NMSSettings", value }], o);
  }

  /** SignatureSettings (79): which checks the device applies; only the given fields change. */
  async setSignatureSettings(target: DeviceRef, settings: SignatureSettingsValue, o: PostOptions = {}): Promise<ExchangeResult> {
    return this.post(target, [{ type: "SignatureSettings", value: { ...settings } }], o);
  }

  /** NMSRedirectRequest (6): register with the NMS at `url` (coap://[addr]:port), at once when immediate. */
  async redirect(target: DeviceRef, url: string, immediate = true, o: PostOptions = {}): Promise<ExchangeResult> {
    return this.post(target, [{ type: "NMSRedirectRequest", value: { url, immediate } }], o);
  }

  /** RebootRequest (32): flag 0 reboots into the running image. */
  async reboot(target: DeviceRef, flag = 0, o: PostOptions = {}): Promise<ExchangeResult> {
    return this.post(target, [{ type: "RebootRequest", value: { flag } }], o);
  }

  /** EventSubscribe (502): the events the device should report (replaces its list). */
  async subscribeEvents(target: DeviceRef, ids: readonly EventId[], o: PostOptions = {}): Promise<ExchangeResult> {
    return this.post(target, [{ type: "EventSubscribe", value: { id: ids.map((i) => ({ ...i })) } }], o);
  }

  /** CurrentTime (18): sets the device's clock (default: the NMS's time now). */
  async setTime(target: DeviceRef, posix = this.nowPosix(), o: PostOptions = {}): Promise<ExchangeResult> {
    return this.post(target, [{ type: "CurrentTime", value: { posix } }], o);
  }

  // ---- waiting and shutdown ------------------------------------------------------

  /**
   * The next event of a kind that passes `filter`. No timeout of its own:
   * on a virtual clock the caller drives time (e.g. clock.runUntil).
   */
  next<K extends keyof SimulatedNmsEvents>(name: K, filter: (e: SimulatedNmsEvents[K][0]) => boolean = () => true): Promise<SimulatedNmsEvents[K][0]> {
    return new Promise((resolve) => {
      const listener = (e: SimulatedNmsEvents[K][0]) => {
        if (!filter(e)) return;
        this.off(name, listener as never);
        resolve(e);
      };
      this.on(name, listener as never);
    });
  }

  /** Stops answering, fails pending waits and closes the transport. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pending.failAll(new Error("NMS closed"));
    this.client.onRequest(null);
    await this.client.close();
  }
}
