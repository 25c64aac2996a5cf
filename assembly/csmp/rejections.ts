// Counts NMS messages rejected by the security checks, so an operator can
// see attacks or key mismatches (logged each time, counted here).
let rejected: u32 = 0;

export function countRejection(): void { rejected++; }
export function rejectionCount(): u32 { return rejected; }
