// Seeded PRNG so random tests are reproducible: a failure names its seed.
// mulberry32, the host's seeded uniform [0, 1) (host/random.ts).
export { seededUniform as mulberry32 } from "../../host/random.ts";
