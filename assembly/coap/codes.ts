// CoAP wire constants (RFC 7252). Plain compile-time constants: they inline
// to immediates and cost no memory or code. Names carry their kind
// (COAP_TYPE_, COAP_CODE_, COAP_OPT_) so 4.02 Bad Option and the parser's
// COAP_BAD_OPTION result cannot be confused.

// ---- message types (§3, "T") ----------------------------------------------
export const COAP_TYPE_CON: u8 = 0;
export const COAP_TYPE_NON: u8 = 1;
export const COAP_TYPE_ACK: u8 = 2;
export const COAP_TYPE_RST: u8 = 3;

// ---- codes: class << 5 | detail, written c.dd in the RFC (§3, §12.1) ------
export const COAP_CODE_EMPTY: u8 = 0x00; // 0.00

// Methods (§5.8, §12.1.1)
export const COAP_CODE_GET: u8 = 0x01;
export const COAP_CODE_POST: u8 = 0x02;
export const COAP_CODE_PUT: u8 = 0x03;
export const COAP_CODE_DELETE: u8 = 0x04;

// Success 2.xx (§5.9.1)
export const COAP_CODE_CREATED: u8 = 0x41; // 2.01
export const COAP_CODE_DELETED: u8 = 0x42; // 2.02
export const COAP_CODE_VALID: u8 = 0x43; // 2.03
export const COAP_CODE_CHANGED: u8 = 0x44; // 2.04
export const COAP_CODE_CONTENT: u8 = 0x45; // 2.05

// Client error 4.xx (§5.9.2)
export const COAP_CODE_BAD_REQUEST: u8 = 0x80; // 4.00
export const COAP_CODE_UNAUTHORIZED: u8 = 0x81; // 4.01
export const COAP_CODE_BAD_OPTION: u8 = 0x82; // 4.02
export const COAP_CODE_FORBIDDEN: u8 = 0x83; // 4.03
export const COAP_CODE_NOT_FOUND: u8 = 0x84; // 4.04
export const COAP_CODE_METHOD_NOT_ALLOWED: u8 = 0x85; // 4.05
export const COAP_CODE_NOT_ACCEPTABLE: u8 = 0x86; // 4.06
export const COAP_CODE_REQUEST_ENTITY_TOO_LARGE: u8 = 0x8d; // 4.13
export const COAP_CODE_UNSUPPORTED_CONTENT_FORMAT: u8 = 0x8f; // 4.15

// Server error 5.xx (§5.9.3)
export const COAP_CODE_INTERNAL_SERVER_ERROR: u8 = 0xa0; // 5.00
export const COAP_CODE_NOT_IMPLEMENTED: u8 = 0xa1; // 5.01
export const COAP_CODE_SERVICE_UNAVAILABLE: u8 = 0xa3; // 5.03
export const COAP_CODE_PROXYING_NOT_SUPPORTED: u8 = 0xa5; // 5.05

// ---- option numbers (§5.10, §12.2; Block1/2 and Size2 from RFC 7959,
// Observe from RFC 7641). Odd numbers are critical (§5.4.6). ---------------
export const COAP_OPT_IF_MATCH: u16 = 1;
export const COAP_OPT_URI_HOST: u16 = 3;
export const COAP_OPT_ETAG: u16 = 4;
export const COAP_OPT_IF_NONE_MATCH: u16 = 5;
export const COAP_OPT_OBSERVE: u16 = 6;
export const COAP_OPT_URI_PORT: u16 = 7;
export const COAP_OPT_LOCATION_PATH: u16 = 8;
export const COAP_OPT_URI_PATH: u16 = 11;
export const COAP_OPT_CONTENT_FORMAT: u16 = 12;
export const COAP_OPT_MAX_AGE: u16 = 14;
export const COAP_OPT_URI_QUERY: u16 = 15;
export const COAP_OPT_ACCEPT: u16 = 17;
export const COAP_OPT_LOCATION_QUERY: u16 = 20;
export const COAP_OPT_BLOCK2: u16 = 23;
export const COAP_OPT_BLOCK1: u16 = 27;
export const COAP_OPT_SIZE2: u16 = 28;
export const COAP_OPT_PROXY_URI: u16 = 35;
export const COAP_OPT_PROXY_SCHEME: u16 = 39;
export const COAP_OPT_SIZE1: u16 = 60;
