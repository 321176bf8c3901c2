/**
 * Every protocol number nvmf uses: opcodes, status codes, property offsets, log page and feature
 * identifiers, discovery values and NVMe/TCP PDU constants. Nothing outside this module spells a
 * protocol number; codecs and the packages above import them from here.
 *
 * Values cite NVM Express Base Specification 2.0 ("Base"), NVMe over Fabrics 1.1 ("Fabrics"),
 * the NVM Command Set Specification 1.0 ("NVM") and the NVMe/TCP Transport Specification 1.0
 * ("TCP"). Enumerations are `as const` objects so that a value can be printed by name with
 * {@linkcode nameOf}.
 *
 * @example Usage
 * ```ts
 * import { AdminOpcode, nameOf } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * assert.equal(AdminOpcode.IDENTIFY, 0x06);
 * assert.equal(nameOf(AdminOpcode, 0x06), "IDENTIFY");
 * ```
 *
 * @module
 */

/**
 * Returns the key of `table` whose value is `value`, or undefined.
 *
 * @param table An enumeration from this module.
 * @param value The number to look up.
 * @returns The name, e.g. `"IDENTIFY"`.
 * @example Usage
 * ```ts
 * import { nameOf, PduType } from "@nvmf/proto/constants";
 * import assert from "node:assert/strict";
 * assert.equal(nameOf(PduType, 0x04), "CAPSULE_CMD");
 * assert.equal(nameOf(PduType, 0x42), undefined);
 * ```
 */
export function nameOf(
  table: Readonly<Record<string, number>>,
  value: number,
): string | undefined {
  for (const key in table) {
    if (table[key] === value) return key;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Queue entries (Base 4.2, 4.6)

/** Size of a submission queue entry in bytes. */
export const SQE_SIZE = 64;
/** Size of a completion queue entry in bytes. */
export const CQE_SIZE = 16;
/** Size of the Connect command's data (Fabrics 3.3). */
export const CONNECT_DATA_SIZE = 1024;
/** Size of every Identify data structure (Base 5.17.2). */
export const IDENTIFY_DATA_SIZE = 4096;
/** Size of one SGL descriptor (Base 4.1.2). */
export const SGL_DESCRIPTOR_SIZE = 16;
/** CID a host must never use: the controller reports errors not tied to a command with it. */
export const CID_RESERVED = 0xffff;
/** NSID broadcast value: all namespaces, never a valid NSID of one namespace (Base 3.2.1.2). */
export const NSID_BROADCAST = 0xffffffff;
/** CNTLID a host sends in Connect to ask for any controller (dynamic model, Fabrics 3.3). */
export const CNTLID_DYNAMIC = 0xffff;
/** CNTLID a host sends in Connect to ask for any controller (static model, Fabrics 3.3). */
export const CNTLID_STATIC_ANY = 0xfffe;
/** Highest CNTLID a controller may hand out (Base 5.17.2.1). */
export const CNTLID_MAX = 0xffef;
/** Fewest entries of an admin queue (NVMe 1.4b 4.1.3; FreeBSD `NVME_MIN_ADMIN_ENTRIES`). */
export const ADMIN_QUEUE_MIN_ENTRIES = 2;
/** Most entries of an admin queue, AQA.ASQS being 12 bits (FreeBSD `NVME_MAX_ADMIN_ENTRIES`). */
export const ADMIN_QUEUE_MAX_ENTRIES = 4096;
/** Fewest entries of an I/O queue (NVMe 1.4b 4.1.3; FreeBSD `NVME_MIN_IO_ENTRIES`). */
export const IO_QUEUE_MIN_ENTRIES = 2;
/** Most entries of an I/O queue, QSIZE being 16 bits (FreeBSD `NVME_MAX_IO_ENTRIES`). */
export const IO_QUEUE_MAX_ENTRIES = 65536;
/** Most I/O queues a host can ask for: Number of Queues NSQR is 0's based, 0xffff invalid. */
export const IO_QUEUES_MAX = 65535;

/** Submission queue entry opcodes of the Admin command set (Base 5, Figure 138). */
export const AdminOpcode = {
  DELETE_IO_SQ: 0x00,
  CREATE_IO_SQ: 0x01,
  GET_LOG_PAGE: 0x02,
  DELETE_IO_CQ: 0x04,
  CREATE_IO_CQ: 0x05,
  IDENTIFY: 0x06,
  ABORT: 0x08,
  SET_FEATURES: 0x09,
  GET_FEATURES: 0x0a,
  ASYNC_EVENT_REQUEST: 0x0c,
  NAMESPACE_MANAGEMENT: 0x0d,
  FIRMWARE_COMMIT: 0x10,
  FIRMWARE_DOWNLOAD: 0x11,
  DEVICE_SELF_TEST: 0x14,
  NAMESPACE_ATTACHMENT: 0x15,
  KEEP_ALIVE: 0x18,
  DIRECTIVE_SEND: 0x19,
  DIRECTIVE_RECEIVE: 0x1a,
  VIRTUALIZATION_MANAGEMENT: 0x1c,
  NVME_MI_SEND: 0x1d,
  NVME_MI_RECEIVE: 0x1e,
  DOORBELL_BUFFER_CONFIG: 0x7c,
  FABRICS: 0x7f,
  FORMAT_NVM: 0x80,
  SECURITY_SEND: 0x81,
  SECURITY_RECEIVE: 0x82,
  SANITIZE: 0x84,
  GET_LBA_STATUS: 0x86,
} as const;

/** Submission queue entry opcodes of the NVM command set (NVM 3, Figure 17). */
export const NvmOpcode = {
  FLUSH: 0x00,
  WRITE: 0x01,
  READ: 0x02,
  WRITE_UNCORRECTABLE: 0x04,
  COMPARE: 0x05,
  WRITE_ZEROES: 0x08,
  DATASET_MANAGEMENT: 0x09,
  VERIFY: 0x0c,
  RESERVATION_REGISTER: 0x0d,
  RESERVATION_REPORT: 0x0e,
  RESERVATION_ACQUIRE: 0x11,
  RESERVATION_RELEASE: 0x15,
  COPY: 0x19,
  FABRICS: 0x7f,
} as const;

/** The Fabrics command opcode, shared by the admin and I/O queues (Fabrics 3.1). */
export const FABRICS_OPCODE = 0x7f;

/** Fabrics command types, byte 4 of a Fabrics SQE (Fabrics 3.1, Figure 9). */
export const FabricsType = {
  PROPERTY_SET: 0x00,
  CONNECT: 0x01,
  PROPERTY_GET: 0x04,
  AUTHENTICATION_SEND: 0x05,
  AUTHENTICATION_RECEIVE: 0x06,
  DISCONNECT: 0x08,
} as const;

/** FUSE field of CDW0 bits 9:8 (Base 4.2, Figure 88). */
export const Fuse = {
  NORMAL: 0,
  FIRST: 1,
  SECOND: 2,
} as const;

/** PSDT, CDW0 bits 15:14: how DPTR describes the data (Base 4.2). Fabrics requires SGLs. */
export const Psdt = {
  PRP: 0,
  SGL_MPTR_CONTIGUOUS: 1,
  SGL_MPTR_SGL: 2,
} as const;

/** SGL descriptor types, the high nibble of byte 15 of a descriptor (Base 4.1.2, Figure 84). */
export const SglType = {
  DATA_BLOCK: 0x0,
  BIT_BUCKET: 0x1,
  SEGMENT: 0x2,
  LAST_SEGMENT: 0x3,
  KEYED_DATA_BLOCK: 0x4,
  TRANSPORT_DATA_BLOCK: 0x5,
} as const;

/** SGL descriptor subtypes, the low nibble of byte 15 of a descriptor (Base 4.1.2, Figure 85). */
export const SglSubtype = {
  ADDRESS: 0x0,
  OFFSET: 0x1,
  TRANSPORT_SPECIFIC: 0xa,
} as const;

/** Byte 1 of an SQE (CDW0 bits 15:8): FUSE in bits 1:0, PSDT in bits 7:6 (Base 4.2, Figure 88). */
export const SqeFlagsBits = {
  FUSE_MASK: 0x03,
  /** Bits 5:2, reserved. */
  RESERVED_MASK: 0x3c,
  PSDT_SHIFT: 6,
  PSDT_MASK: 0x3,
} as const;

/** Byte 15 of an SGL descriptor, the SGL identifier: type bits 7:4, subtype bits 3:0 (Base 4.1.2). */
export const SglIdentifierBits = {
  TYPE_SHIFT: 4,
  TYPE_MASK: 0xf,
  SUBTYPE_MASK: 0xf,
} as const;

// ---------------------------------------------------------------------------------------------
// Completion status (Base 4.6.1)

/** Status Code Type, CQE status bits 11:9 (Base 4.6.1.2, Figure 96). */
export const StatusCodeType = {
  GENERIC: 0x0,
  COMMAND_SPECIFIC: 0x1,
  MEDIA_AND_DATA_INTEGRITY: 0x2,
  PATH_RELATED: 0x3,
  VENDOR_SPECIFIC: 0x7,
} as const;

/** Generic command status values, SCT 0 (Base 4.6.1.2.1, Figures 97 and 98; NVM 4.1.1.1). */
export const GenericStatus = {
  SUCCESS: 0x00,
  INVALID_COMMAND_OPCODE: 0x01,
  INVALID_FIELD_IN_COMMAND: 0x02,
  COMMAND_ID_CONFLICT: 0x03,
  DATA_TRANSFER_ERROR: 0x04,
  COMMANDS_ABORTED_DUE_TO_POWER_LOSS: 0x05,
  INTERNAL_ERROR: 0x06,
  COMMAND_ABORT_REQUESTED: 0x07,
  COMMAND_ABORTED_SQ_DELETION: 0x08,
  COMMAND_ABORTED_FAILED_FUSED: 0x09,
  COMMAND_ABORTED_MISSING_FUSED: 0x0a,
  INVALID_NAMESPACE_OR_FORMAT: 0x0b,
  COMMAND_SEQUENCE_ERROR: 0x0c,
  INVALID_SGL_SEGMENT_DESCRIPTOR: 0x0d,
  INVALID_NUMBER_OF_SGL_DESCRIPTORS: 0x0e,
  DATA_SGL_LENGTH_INVALID: 0x0f,
  METADATA_SGL_LENGTH_INVALID: 0x10,
  SGL_DESCRIPTOR_TYPE_INVALID: 0x11,
  INVALID_USE_OF_CONTROLLER_MEMORY_BUFFER: 0x12,
  PRP_OFFSET_INVALID: 0x13,
  ATOMIC_WRITE_UNIT_EXCEEDED: 0x14,
  OPERATION_DENIED: 0x15,
  SGL_OFFSET_INVALID: 0x16,
  HOST_IDENTIFIER_INCONSISTENT_FORMAT: 0x18,
  KEEP_ALIVE_TIMER_EXPIRED: 0x19,
  KEEP_ALIVE_TIMEOUT_INVALID: 0x1a,
  COMMAND_ABORTED_PREEMPT_AND_ABORT: 0x1b,
  SANITIZE_FAILED: 0x1c,
  SANITIZE_IN_PROGRESS: 0x1d,
  SGL_DATA_BLOCK_GRANULARITY_INVALID: 0x1e,
  COMMAND_NOT_SUPPORTED_FOR_QUEUE_IN_CMB: 0x1f,
  NAMESPACE_IS_WRITE_PROTECTED: 0x20,
  COMMAND_INTERRUPTED: 0x21,
  TRANSIENT_TRANSPORT_ERROR: 0x22,
  COMMAND_PROHIBITED_BY_COMMAND_AND_FEATURE_LOCKDOWN: 0x23,
  ADMIN_COMMAND_MEDIA_NOT_READY: 0x24,
  LBA_OUT_OF_RANGE: 0x80,
  CAPACITY_EXCEEDED: 0x81,
  NAMESPACE_NOT_READY: 0x82,
  RESERVATION_CONFLICT: 0x83,
  FORMAT_IN_PROGRESS: 0x84,
} as const;

/** Command specific status values, SCT 1, for Admin commands (Base 4.6.1.2.2, Figure 99). */
export const CommandSpecificStatus = {
  COMPLETION_QUEUE_INVALID: 0x00,
  INVALID_QUEUE_IDENTIFIER: 0x01,
  INVALID_QUEUE_SIZE: 0x02,
  ABORT_COMMAND_LIMIT_EXCEEDED: 0x03,
  ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED: 0x05,
  INVALID_FIRMWARE_SLOT: 0x06,
  INVALID_FIRMWARE_IMAGE: 0x07,
  INVALID_INTERRUPT_VECTOR: 0x08,
  INVALID_LOG_PAGE: 0x09,
  INVALID_FORMAT: 0x0a,
  FIRMWARE_ACTIVATION_REQUIRES_CONVENTIONAL_RESET: 0x0b,
  INVALID_QUEUE_DELETION: 0x0c,
  FEATURE_IDENTIFIER_NOT_SAVEABLE: 0x0d,
  FEATURE_NOT_CHANGEABLE: 0x0e,
  FEATURE_NOT_NAMESPACE_SPECIFIC: 0x0f,
  FIRMWARE_ACTIVATION_REQUIRES_NVM_SUBSYSTEM_RESET: 0x10,
  FIRMWARE_ACTIVATION_REQUIRES_CONTROLLER_LEVEL_RESET: 0x11,
  FIRMWARE_ACTIVATION_REQUIRES_MAXIMUM_TIME_VIOLATION: 0x12,
  FIRMWARE_ACTIVATION_PROHIBITED: 0x13,
  OVERLAPPING_RANGE: 0x14,
  NAMESPACE_INSUFFICIENT_CAPACITY: 0x15,
  NAMESPACE_IDENTIFIER_UNAVAILABLE: 0x16,
  NAMESPACE_ALREADY_ATTACHED: 0x18,
  NAMESPACE_IS_PRIVATE: 0x19,
  NAMESPACE_NOT_ATTACHED: 0x1a,
  THIN_PROVISIONING_NOT_SUPPORTED: 0x1b,
  CONTROLLER_LIST_INVALID: 0x1c,
  DEVICE_SELF_TEST_IN_PROGRESS: 0x1d,
  BOOT_PARTITION_WRITE_PROHIBITED: 0x1e,
  INVALID_CONTROLLER_IDENTIFIER: 0x1f,
  INVALID_SECONDARY_CONTROLLER_STATE: 0x20,
  INVALID_NUMBER_OF_CONTROLLER_RESOURCES: 0x21,
  INVALID_RESOURCE_IDENTIFIER: 0x22,
  SANITIZE_PROHIBITED_WHILE_PMR_ENABLED: 0x23,
  ANA_GROUP_IDENTIFIER_INVALID: 0x24,
  ANA_ATTACH_FAILED: 0x25,
  INSUFFICIENT_CAPACITY: 0x26,
  NAMESPACE_ATTACHMENT_LIMIT_EXCEEDED: 0x27,
  PROHIBITION_OF_COMMAND_EXECUTION_NOT_SUPPORTED: 0x28,
  IO_COMMAND_SET_NOT_SUPPORTED: 0x29,
  IO_COMMAND_SET_NOT_ENABLED: 0x2a,
  IO_COMMAND_SET_COMBINATION_REJECTED: 0x2b,
  INVALID_IO_COMMAND_SET: 0x2c,
  IDENTIFIER_UNAVAILABLE: 0x2d,
} as const;

/** Command specific status values, SCT 1, of Fabrics commands (Fabrics 2.2.1, Figure 7). */
export const FabricsStatus = {
  CONNECT_INCOMPATIBLE_FORMAT: 0x80,
  CONNECT_CONTROLLER_BUSY: 0x81,
  CONNECT_INVALID_PARAMETERS: 0x82,
  CONNECT_RESTART_DISCOVERY: 0x83,
  CONNECT_INVALID_HOST: 0x84,
  INVALID_QUEUE_TYPE: 0x85,
  DISCOVER_RESTART: 0x90,
  AUTHENTICATION_REQUIRED: 0x91,
} as const;

/** Command specific status values, SCT 1, of NVM I/O commands (NVM 4.1.1.2, Figure 33). */
export const NvmCommandStatus = {
  CONFLICTING_ATTRIBUTES: 0x80,
  INVALID_PROTECTION_INFORMATION: 0x81,
  ATTEMPTED_WRITE_TO_READ_ONLY_RANGE: 0x82,
  COMMAND_SIZE_LIMIT_EXCEEDED: 0x83,
} as const;

/** Media and data integrity error values, SCT 2 (Base 4.6.1.2.3, Figure 100; NVM Figure 34). */
export const MediaStatus = {
  WRITE_FAULT: 0x80,
  UNRECOVERED_READ_ERROR: 0x81,
  END_TO_END_GUARD_CHECK_ERROR: 0x82,
  END_TO_END_APPLICATION_TAG_CHECK_ERROR: 0x83,
  END_TO_END_REFERENCE_TAG_CHECK_ERROR: 0x84,
  COMPARE_FAILURE: 0x85,
  ACCESS_DENIED: 0x86,
  DEALLOCATED_OR_UNWRITTEN_LOGICAL_BLOCK: 0x87,
  END_TO_END_STORAGE_TAG_CHECK_ERROR: 0x88,
} as const;

/** Path related status values, SCT 3 (Base 4.6.1.2.4, Figure 101). */
export const PathStatus = {
  INTERNAL_PATH_ERROR: 0x00,
  ASYMMETRIC_ACCESS_PERSISTENT_LOSS: 0x01,
  ASYMMETRIC_ACCESS_INACCESSIBLE: 0x02,
  ASYMMETRIC_ACCESS_TRANSITION: 0x03,
  CONTROLLER_PATHING_ERROR: 0x60,
  HOST_PATHING_ERROR: 0x70,
  COMMAND_ABORTED_BY_HOST: 0x71,
} as const;

/** Bit positions and masks of the 16-bit CQE status field, phase tag included (Base 4.6.1). */
export const CqeStatusBits = {
  PHASE: 0x0001,
  SC_SHIFT: 1,
  SC_MASK: 0xff,
  SCT_SHIFT: 9,
  SCT_MASK: 0x7,
  CRD_SHIFT: 12,
  CRD_MASK: 0x3,
  MORE: 0x4000,
  DNR: 0x8000,
} as const;

/** Where SC ranges start in every SCT: command set specific 0x80-0xBF, vendor 0xC0-0xFF (Base 4.6.1.2). */
export const StatusCodeRange = {
  COMMAND_SET_SPECIFIC: 0x80,
  VENDOR_SPECIFIC: 0xc0,
} as const;

// ---------------------------------------------------------------------------------------------
// Fabrics (Fabrics 3)

/**
 * Connect record format this implementation speaks (Fabrics 3.3, RECFMT). Named apart from
 * `CONNECT_RECFMT` of fabrics.ts, the byte offset of that field.
 */
export const CONNECT_RECORD_FORMAT = 0;

/** CATTR bits of the Connect command (Fabrics 3.3, Figure 20). */
export const ConnectAttributes = {
  PRIORITY_MASK: 0x03,
  /** SQ flow control disable: the host asks not to be limited by SQHD. */
  DISABLE_SQ_FLOW_CONTROL: 0x04,
  IO_QUEUE_DELETION_REQUEST: 0x08,
} as const;

/** AUTHREQ bits of the Connect response DW0 (Fabrics 3.3, Figure 22; Base 2.0 8.13). */
export const ConnectAuthReq = {
  /** Authentication Transaction Required (bit 17 of DW0). */
  ATR: 1 << 17,
  /** Secure Channel Required (bit 18 of DW0). */
  ASCR: 1 << 18,
} as const;

// ---------------------------------------------------------------------------------------------
// In-band authentication, DH-HMAC-CHAP (Base 2.0 8.13, 5.3.x; TP 8006; Linux include/linux/nvme.h)

/** SECP of Authentication Send/Receive for NVMe in-band authentication (Base 2.0 5.3.1). */
export const AUTH_SECP_NVME = 0xe9;
/** SPSP0 and SPSP1 of Authentication Send/Receive for DH-HMAC-CHAP (Base 2.0 5.3.1). */
export const AUTH_SPSP_DHCHAP = 0x01;
/** AUTHID of the DH-HMAC-CHAP protocol descriptor in AUTH_Negotiate. */
export const AUTH_DHCHAP_AUTHID = 0x01;

/** AUTH_Type, byte 0 of every authentication message. */
export const AuthMessageType = {
  COMMON: 0x00,
  DHCHAP: 0x01,
} as const;

/** AUTH_Id, byte 1 of every authentication message. */
export const AuthMessageId = {
  NEGOTIATE: 0x00,
  CHALLENGE: 0x01,
  REPLY: 0x02,
  SUCCESS1: 0x03,
  SUCCESS2: 0x04,
  FAILURE2: 0xf0,
  FAILURE1: 0xf1,
} as const;

/** SC_C of AUTH_Negotiate: secure channel concatenation (none is what this stack does). */
export const AuthSecureChannel = {
  NONE: 0x00,
  NEW_TLS_PSK: 0x01,
  REPLACE_TLS_PSK: 0x02,
} as const;

/** Hash function identifiers of DH-HMAC-CHAP (Base 2.0 8.13.5.2, Figure 448). */
export const DhchapHashId = {
  SHA256: 0x01,
  SHA384: 0x02,
  SHA512: 0x03,
} as const;

/** Diffie-Hellman group identifiers of DH-HMAC-CHAP (Base 2.0 8.13.5.2, Figure 449). */
export const DhchapDhGroupId = {
  NULL: 0x00,
  FFDHE2048: 0x01,
  FFDHE3072: 0x02,
  FFDHE4096: 0x03,
  FFDHE6144: 0x04,
  FFDHE8192: 0x05,
} as const;

/** Reason code of AUTH_Failure1/2 (Base 2.0 5.3.x, Figure 456). */
export const AUTH_FAILURE_REASON_FAILED = 0x01;

/** Reason code explanations of AUTH_Failure1/2 (Base 2.0, Figure 457; Linux's names). */
export const AuthFailureExplanation = {
  FAILED: 0x01,
  NOT_USABLE: 0x02,
  CONCAT_MISMATCH: 0x03,
  HASH_UNUSABLE: 0x04,
  DHGROUP_UNUSABLE: 0x05,
  INCORRECT_PAYLOAD: 0x06,
  INCORRECT_MESSAGE: 0x07,
} as const;

/** IATTR bit of the Connect invalid-parameter DW0: set when IPO points into the Connect data. */
export const CONNECT_IATTR_DATA = 1 << 16;

/** Connect response DW0: CNTLID bits 15:0 and AUTHREQ bits 31:16, or IPO bits 15:0 (Fabrics 3.3). */
export const ConnectResponseBits = {
  CNTLID_MASK: 0xffff,
  AUTHREQ_SHIFT: 16,
  AUTHREQ_MASK: 0xffff,
  IPO_MASK: 0xffff,
} as const;

/** SQHD of a Connect response when the controller disabled SQ flow control (Fabrics 3.3). */
export const SQHD_FLOW_CONTROL_DISABLED = 0xffff;

/** Mask of the size field, bits 2:0, of the ATTRIB byte of Property Get/Set (Fabrics 3.4). */
export const PROPERTY_ATTRIB_SIZE_MASK = 0x7;

/** ATTRIB size values of Property Get/Set (Fabrics 3.4, Figure 28). */
export const PropertySize = {
  FOUR_BYTES: 0,
  EIGHT_BYTES: 1,
} as const;

/** Controller property offsets (Base 3.1.3, Figure 35). */
export const Property = {
  CAP: 0x00,
  VS: 0x08,
  INTMS: 0x0c,
  INTMC: 0x10,
  CC: 0x14,
  CSTS: 0x1c,
  NSSR: 0x20,
  AQA: 0x24,
  ASQ: 0x28,
  ACQ: 0x30,
} as const;

/** The value written to NSSR to reset an NVM subsystem, ASCII "NVMe" (Base 3.1.3.6). */
export const NSSR_RESET_VALUE = 0x4e564d65;

/** Fields of VS: MJR bits 31:16, MNR bits 15:8, TER bits 7:0 (Base 3.1.3.2, Figure 37). */
export const VsBits = {
  MJR_SHIFT: 16,
  MJR_MASK: 0xffff,
  MNR_SHIFT: 8,
  MNR_MASK: 0xff,
  TER_MASK: 0xff,
} as const;

/** Fields of CAP (Base 3.1.3.1, Figure 36): shifts and masks, CAP being a 64-bit bigint. */
export const CapBits = {
  MQES_SHIFT: 0,
  MQES_MASK: 0xffff,
  CQR_SHIFT: 16,
  AMS_SHIFT: 17,
  AMS_MASK: 0x3,
  TO_SHIFT: 24,
  TO_MASK: 0xff,
  DSTRD_SHIFT: 32,
  DSTRD_MASK: 0xf,
  NSSRS_SHIFT: 36,
  CSS_SHIFT: 37,
  CSS_MASK: 0xff,
  BPS_SHIFT: 45,
  CPS_SHIFT: 46,
  CPS_MASK: 0x3,
  MPSMIN_SHIFT: 48,
  MPSMIN_MASK: 0xf,
  MPSMAX_SHIFT: 52,
  MPSMAX_MASK: 0xf,
  PMRS_SHIFT: 56,
  CMBS_SHIFT: 57,
  NSSS_SHIFT: 58,
  CRMS_SHIFT: 59,
  CRMS_MASK: 0x3,
} as const;

/** CAP.CSS bits: command sets the controller supports (Base 3.1.3.1). */
export const CapCss = {
  NVM: 0x01,
  IO_COMMAND_SETS: 0x40,
  ADMIN_ONLY: 0x80,
} as const;

/** CAP.TO and similar timeouts count units of 500 milliseconds (Base 3.1.3.1). */
export const CAP_TO_UNIT_MS = 500;

/** Fields of CC (Base 3.1.3.5, Figure 41). */
export const CcBits = {
  EN: 0x1,
  CSS_SHIFT: 4,
  CSS_MASK: 0x7,
  MPS_SHIFT: 7,
  MPS_MASK: 0xf,
  AMS_SHIFT: 11,
  AMS_MASK: 0x7,
  SHN_SHIFT: 14,
  SHN_MASK: 0x3,
  IOSQES_SHIFT: 16,
  IOSQES_MASK: 0xf,
  IOCQES_SHIFT: 20,
  IOCQES_MASK: 0xf,
  CRIME_SHIFT: 24,
} as const;

/** CC.CSS, the I/O command set selected (Base 3.1.3.5, Figure 41). */
export const CcCss = {
  NVM: 0b000,
  /** All I/O command sets CAP.CSS reports (with CAP.CSS bit 6 set). */
  ALL_IO_SETS: 0b110,
  ADMIN_ONLY: 0b111,
} as const;

/** CC.SHN, shutdown notification (Base 3.1.3.5). */
export const ShutdownNotification = {
  NONE: 0,
  NORMAL: 1,
  ABRUPT: 2,
} as const;

/** Fields of CSTS (Base 3.1.3.6, Figure 42). */
export const CstsBits = {
  RDY: 0x1,
  CFS: 0x2,
  SHST_SHIFT: 2,
  SHST_MASK: 0x3,
  NSSRO: 0x10,
  PP: 0x20,
  ST: 0x40,
} as const;

/** CSTS.SHST, shutdown status (Base 3.1.3.6). */
export const ShutdownStatus = {
  NORMAL: 0,
  OCCURRING: 1,
  COMPLETE: 2,
} as const;

/** Log2 of the 64-byte SQE and 16-byte CQE, the values of CC.IOSQES and CC.IOCQES. */
export const SQE_SIZE_LOG2 = 6;
/** Log2 of the 16-byte CQE (CC.IOCQES). */
export const CQE_SIZE_LOG2 = 4;

/** NVMe versions as the VS property and Identify VER encode them (major << 16 | minor << 8). */
export const NvmeVersion = {
  V1_2: 0x010200,
  V1_3: 0x010300,
  V1_4: 0x010400,
  V2_0: 0x020000,
} as const;

// ---------------------------------------------------------------------------------------------
// Admin command details

/** Identify CNS values (Base 5.17, Figure 273). */
export const IdentifyCns = {
  NAMESPACE: 0x00,
  CONTROLLER: 0x01,
  ACTIVE_NAMESPACE_LIST: 0x02,
  NAMESPACE_DESCRIPTOR_LIST: 0x03,
  NVM_SET_LIST: 0x04,
  CS_NAMESPACE: 0x05,
  CS_CONTROLLER: 0x06,
  CS_ACTIVE_NAMESPACE_LIST: 0x07,
  CS_INDEPENDENT_NAMESPACE: 0x08,
  ALLOCATED_NAMESPACE_LIST: 0x10,
  ALLOCATED_NAMESPACE: 0x11,
  NAMESPACE_CONTROLLER_LIST: 0x12,
  CONTROLLER_LIST: 0x13,
  PRIMARY_CONTROLLER_CAPABILITIES: 0x14,
  SECONDARY_CONTROLLER_LIST: 0x15,
  NAMESPACE_GRANULARITY_LIST: 0x16,
  UUID_LIST: 0x17,
  DOMAIN_LIST: 0x18,
  ENDURANCE_GROUP_LIST: 0x19,
  CS_ALLOCATED_NAMESPACE_LIST: 0x1a,
  CS_ALLOCATED_NAMESPACE: 0x1b,
  IO_COMMAND_SET: 0x1c,
} as const;

/** Namespace identification descriptor types, NIDT (Base 5.17.2.3, Figure 277). */
export const NsIdType = {
  EUI64: 0x1,
  NGUID: 0x2,
  UUID: 0x3,
  CSI: 0x4,
} as const;

/** Length NIDL of each namespace identification descriptor type, in bytes. */
export const NS_ID_LENGTH: Readonly<Record<number, number>> = {
  [NsIdType.EUI64]: 8,
  [NsIdType.NGUID]: 16,
  [NsIdType.UUID]: 16,
  [NsIdType.CSI]: 1,
};

/** Command Set Identifiers (Base 5.17, Figure 274). */
export const CommandSetIdentifier = {
  NVM: 0x00,
  KEY_VALUE: 0x01,
  ZONED: 0x02,
} as const;

/** Controller types, Identify Controller CNTRLTYPE (Base 5.17.2.1). */
export const ControllerType = {
  NOT_REPORTED: 0,
  IO: 1,
  DISCOVERY: 2,
  ADMINISTRATIVE: 3,
} as const;

/** Log page identifiers (Base 5.16, Figure 202; Fabrics 5.3 for Discovery). */
export const LogPageId = {
  ERROR_INFORMATION: 0x01,
  SMART_HEALTH: 0x02,
  FIRMWARE_SLOT: 0x03,
  CHANGED_NAMESPACE_LIST: 0x04,
  COMMANDS_SUPPORTED_AND_EFFECTS: 0x05,
  DEVICE_SELF_TEST: 0x06,
  TELEMETRY_HOST_INITIATED: 0x07,
  TELEMETRY_CONTROLLER_INITIATED: 0x08,
  ENDURANCE_GROUP_INFORMATION: 0x09,
  PREDICTABLE_LATENCY_PER_NVM_SET: 0x0a,
  PREDICTABLE_LATENCY_EVENT_AGGREGATE: 0x0b,
  ASYMMETRIC_NAMESPACE_ACCESS: 0x0c,
  PERSISTENT_EVENT_LOG: 0x0d,
  ENDURANCE_GROUP_EVENT_AGGREGATE: 0x0f,
  MEDIA_UNIT_STATUS: 0x10,
  SUPPORTED_CAPACITY_CONFIGURATION_LIST: 0x11,
  FEATURE_IDENTIFIERS_SUPPORTED_AND_EFFECTS: 0x12,
  NVME_MI_COMMANDS_SUPPORTED_AND_EFFECTS: 0x13,
  COMMAND_AND_FEATURE_LOCKDOWN: 0x14,
  BOOT_PARTITION: 0x15,
  ROTATIONAL_MEDIA_INFORMATION: 0x16,
  DISCOVERY: 0x70,
  RESERVATION_NOTIFICATION: 0x80,
  SANITIZE_STATUS: 0x81,
} as const;

/** Sizes of fixed-size log pages, in bytes. */
export const LogPageSize = {
  ERROR_INFORMATION_ENTRY: 64,
  SMART_HEALTH: 512,
  FIRMWARE_SLOT: 512,
  CHANGED_NAMESPACE_LIST: 4096,
  COMMANDS_SUPPORTED_AND_EFFECTS: 4096,
  DISCOVERY_HEADER: 1024,
  DISCOVERY_ENTRY: 1024,
} as const;

/** First entry of a Changed Namespace List when more than 1,024 namespaces changed (Base 5.16.1.5). */
export const CHANGED_NS_LIST_OVERFLOW = 0xffffffff;

/** SMART / Health Data Units Read and Written count thousands of 512-byte units (Base 5.16.1.3). */
export const SMART_DATA_UNIT_BYTES = 512_000;

/** Error Information entry Parameter Error Location when no field is to blame (Base Figure 206). */
export const ERROR_LOCATION_NONE = 0xffff;

/** Fields of Get Log Page CDW10, CDW11 and CDW14 (Base 5.16, Figures 197 to 201). */
export const GetLogPageBits = {
  LID_MASK: 0xff,
  LSP_SHIFT: 8,
  LSP_MASK: 0x7f,
  /** Retain Asynchronous Event, CDW10 bit 15. */
  RAE: 1 << 15,
  /** NUMDL, the low 16 bits of the 0's based dword count, CDW10 bits 31:16. */
  NUMDL_SHIFT: 16,
  /** NUMDU, the high 16 bits of the 0's based dword count, CDW11 bits 15:0. */
  NUMDU_MASK: 0xffff,
  LSI_SHIFT: 16,
  UUID_INDEX_MASK: 0x7f,
  /** Offset Type, CDW14 bit 23: LPO is an index, not a byte offset. */
  OT: 1 << 23,
  CSI_SHIFT: 24,
} as const;

/** Fields of Identify CDW10, CDW11 and CDW14 (Base 5.17, Figures 271 and 272). */
export const IdentifyBits = {
  CNS_MASK: 0xff,
  CNTID_SHIFT: 16,
  /** CNS Specific Identifier (NVM Set, Endurance Group or Domain), CDW11 bits 15:0. */
  CNSSID_MASK: 0xffff,
  CSI_SHIFT: 24,
  UUID_INDEX_MASK: 0x7f,
} as const;

/** Feature identifiers (Base 5.27.1, Figure 317). */
export const FeatureId = {
  ARBITRATION: 0x01,
  POWER_MANAGEMENT: 0x02,
  LBA_RANGE_TYPE: 0x03,
  TEMPERATURE_THRESHOLD: 0x04,
  ERROR_RECOVERY: 0x05,
  VOLATILE_WRITE_CACHE: 0x06,
  NUMBER_OF_QUEUES: 0x07,
  INTERRUPT_COALESCING: 0x08,
  INTERRUPT_VECTOR_CONFIGURATION: 0x09,
  WRITE_ATOMICITY_NORMAL: 0x0a,
  ASYNC_EVENT_CONFIGURATION: 0x0b,
  AUTONOMOUS_POWER_STATE_TRANSITION: 0x0c,
  HOST_MEMORY_BUFFER: 0x0d,
  TIMESTAMP: 0x0e,
  KEEP_ALIVE_TIMER: 0x0f,
  HOST_CONTROLLED_THERMAL_MANAGEMENT: 0x10,
  NON_OPERATIONAL_POWER_STATE_CONFIG: 0x11,
  READ_RECOVERY_LEVEL_CONFIG: 0x12,
  PREDICTABLE_LATENCY_MODE_CONFIG: 0x13,
  PREDICTABLE_LATENCY_MODE_WINDOW: 0x14,
  HOST_BEHAVIOR_SUPPORT: 0x16,
  SANITIZE_CONFIG: 0x17,
  ENDURANCE_GROUP_EVENT_CONFIGURATION: 0x18,
  IO_COMMAND_SET_PROFILE: 0x19,
  SOFTWARE_PROGRESS_MARKER: 0x80,
  HOST_IDENTIFIER: 0x81,
  RESERVATION_NOTIFICATION_MASK: 0x82,
  RESERVATION_PERSISTENCE: 0x83,
  NAMESPACE_WRITE_PROTECTION_CONFIG: 0x84,
} as const;

/** Fields of Get/Set Features CDW10: FID bits 7:0, SEL bits 10:8, SV bit 31 (Base 5.15, 5.27). */
export const FeatureBits = {
  FID_MASK: 0xff,
  SEL_SHIFT: 8,
  SEL_MASK: 0x7,
  /** Save, Set Features CDW10 bit 31 (unsigned). */
  SV: 0x80000000,
} as const;

/** Number of Queues CDW11 and DW0: NSQR/NSQA bits 15:0, NCQR/NCQA bits 31:16 (Base 5.27.1.5). */
export const NumberOfQueuesBits = {
  NSQ_MASK: 0xffff,
  NCQ_SHIFT: 16,
  NCQ_MASK: 0xffff,
} as const;

/** Get Features DW0 with SEL 3, the supported capabilities of a feature (Base 5.15, Figure 193). */
export const FeatureCapabilities = {
  SAVEABLE: 1 << 0,
  NAMESPACE_SPECIFIC: 1 << 1,
  CHANGEABLE: 1 << 2,
} as const;

/** Volatile Write Cache feature CDW11 bit 0: WCE, the cache is enabled (Base 5.27.1.4). */
export const FEATURE_VWC_WCE = 0x1;

/** Power Management feature CDW11: PS in bits 4:0, WH in bits 7:5 (Base 5.27.1.2). */
export const FEATURE_POWER_STATE_MASK = 0x1f;

/** Error Recovery feature CDW11: TLER bits 15:0, DULBE bit 16 (Base 5.27.1.5, NVM 4.1.3.2). */
export const ErrorRecoveryBits = {
  TLER_MASK: 0xffff,
  DULBE: 1 << 16,
} as const;

/** Temperature Threshold feature CDW11: TMPTH 15:0, TMPSEL 19:16, THSEL 21:20 (Base 5.27.1.3). */
export const TemperatureThresholdBits = {
  TMPTH_MASK: 0xffff,
  TMPSEL_SHIFT: 16,
  TMPSEL_MASK: 0xf,
  THSEL_SHIFT: 20,
  THSEL_MASK: 0x3,
} as const;

/** Host Identifier feature CDW11 bit 0: EXHID, the 128-bit host identifier (Base 5.27.1.26). */
export const FEATURE_HOST_ID_EXHID = 0x1;

/** Write Atomicity Normal feature CDW11 bit 0: DN, disable normal (Base 5.27.1.10). */
export const FEATURE_WRITE_ATOMICITY_DN = 0x1;

/** Fields of Abort CDW10: SQID bits 15:0, CID bits 31:16 (Base 5.1, Figure 142). */
export const AbortBits = {
  SQID_MASK: 0xffff,
  CID_SHIFT: 16,
} as const;

/** Abort completion DW0 bit 0: set when the command was not aborted (Base 5.1, Figure 143). */
export const ABORT_NOT_ABORTED = 0x1;

/** Fields of the Asynchronous Event Request completion DW0 (Base 5.2.1, Figure 145). */
export const AsyncEventBits = {
  TYPE_MASK: 0x7,
  INFO_SHIFT: 8,
  INFO_MASK: 0xff,
  LID_SHIFT: 16,
  LID_MASK: 0xff,
} as const;

/** CTRATT bits of Identify Controller (Base Figure 275, bytes 99:96). */
export const ControllerAttributes = {
  HOST_ID_128_BIT: 1 << 0,
  /** Traffic Based Keep Alive Support: any completion restarts the Keep Alive timer. */
  TBKAS: 1 << 6,
} as const;

/** FCATT bit 0 of Identify Controller: set for the static controller model (Fabrics 4.1). */
export const FCATT_STATIC_CONTROLLER_MODEL = 0x1;

/** CRDT1 to CRDT3 and KAS of Identify Controller count units of 100 ms (Base 5.17.2.1). */
export const CRDT_UNIT_MS = 100;

/** CMIC bits of Identify Controller, multi-path I/O and sharing (Base Figure 275, byte 76). */
export const Cmic = {
  MULTI_PORT: 1 << 0,
  MULTI_CONTROLLER: 1 << 1,
  SRIOV: 1 << 2,
  ANA: 1 << 3,
} as const;

/** ANA states (Base 8.1.3, Figure 233 ANA State): a path's access to an ANA group. */
export const AnaState = {
  OPTIMIZED: 0x01,
  NON_OPTIMIZED: 0x02,
  INACCESSIBLE: 0x03,
  PERSISTENT_LOSS: 0x04,
  CHANGE: 0x0f,
} as const;

/** ANACAP bits of Identify Controller, ANA capabilities (Base Figure 275, byte 343). */
export const AnaCap = {
  OPTIMIZED: 1 << 0,
  NON_OPTIMIZED: 1 << 1,
  INACCESSIBLE: 1 << 2,
  PERSISTENT_LOSS: 1 << 3,
  CHANGE: 1 << 4,
  /** ANAGRPID does not change while the namespace is attached. */
  GRPID_NOT_CHANGING: 1 << 6,
  /** A non-zero ANAGRPID is accepted in Namespace Management. */
  GRPID_MGMT: 1 << 7,
} as const;

/** Get Log Page LSP bit 0 of the ANA log page (LID 0Ch): RGO, return groups only. */
export const ANA_LSP_RGO = 1;

/** LPA bits of Identify Controller, log page attributes (Base Figure 275, byte 261). */
export const LogPageAttributes = {
  SMART_PER_NAMESPACE: 1 << 0,
  COMMANDS_EFFECTS: 1 << 1,
  /** Extended data for Get Log Page: NUMDU and LPO are honoured. */
  EXTENDED_DATA: 1 << 2,
} as const;

/** FRMW bits of Identify Controller: slot 1 read-only in bit 0, slot count in bits 3:1. */
export const FirmwareUpdates = {
  SLOT1_READ_ONLY: 1 << 0,
  SLOTS_SHIFT: 1,
  SLOTS_MASK: 0x7,
} as const;

/** VWC bit 0 of Identify Controller: a volatile write cache is present (Base Figure 275). */
export const VWC_PRESENT = 0x1;

/** SQES and CQES of Identify Controller: required size bits 3:0, maximum bits 7:4 (log2). */
export const EntrySizeBits = {
  REQUIRED_MASK: 0xf,
  MAX_SHIFT: 4,
} as const;

/** Log2 of the smallest memory page size: CAP.MPSMIN/MPSMAX and MDTS count 2 ^ (12 + n) bytes. */
export const MEMORY_PAGE_SHIFT_MIN = 12;

/** NMIC bit 0 of Identify Namespace: the namespace may be shared (NVM Figure 97, byte 30). */
export const NMIC_SHARED = 0x1;

/** NSATTR bit 0 of Identify Namespace: the namespace is write protected (NVM Figure 97). */
export const NSATTR_WRITE_PROTECTED = 0x1;

/** SEL field of Get Features CDW10 bits 10:8 (Base 5.15, Figure 191). */
export const FeatureSelect = {
  CURRENT: 0,
  DEFAULT: 1,
  SAVED: 2,
  SUPPORTED_CAPABILITIES: 3,
} as const;

/** Asynchronous event types, bits 2:0 of the AER completion DW0 (Base 5.2.1, Figure 146). */
export const AsyncEventType = {
  ERROR_STATUS: 0,
  SMART_HEALTH_STATUS: 1,
  NOTICE: 2,
  IMMEDIATE: 3,
  ONE_SHOT: 4,
  IO_COMMAND_SPECIFIC_STATUS: 6,
  VENDOR_SPECIFIC: 7,
} as const;

/** Asynchronous event information for the NOTICE type, bits 15:8 of DW0 (Base Figure 149). */
export const AsyncEventNotice = {
  NAMESPACE_ATTRIBUTE_CHANGED: 0x00,
  FIRMWARE_ACTIVATION_STARTING: 0x01,
  TELEMETRY_LOG_CHANGED: 0x02,
  ANA_CHANGE: 0x03,
  PREDICTABLE_LATENCY_EVENT_AGGREGATE_CHANGED: 0x04,
  LBA_STATUS_INFORMATION_ALERT: 0x05,
  ENDURANCE_GROUP_EVENT_AGGREGATE_CHANGED: 0x06,
  DISCOVERY_LOG_PAGE_CHANGE: 0xf0,
} as const;

/** Asynchronous Event Configuration feature bits (Base 5.27.1.7, Figure 327). */
export const AsyncEventConfig = {
  SMART_MASK: 0xff,
  NAMESPACE_ATTRIBUTE_NOTICES: 1 << 8,
  FIRMWARE_ACTIVATION_NOTICES: 1 << 9,
  TELEMETRY_LOG_NOTICES: 1 << 10,
  ANA_CHANGE_NOTICES: 1 << 11,
  DISCOVERY_LOG_PAGE_CHANGE_NOTICES: 1 << 31,
} as const;

/** OACS bits of Identify Controller (Base Figure 275, bytes 257:256). */
export const Oacs = {
  SECURITY: 1 << 0,
  FORMAT_NVM: 1 << 1,
  FIRMWARE: 1 << 2,
  NAMESPACE_MANAGEMENT: 1 << 3,
  DEVICE_SELF_TEST: 1 << 4,
  DIRECTIVES: 1 << 5,
  NVME_MI: 1 << 6,
  VIRTUALIZATION: 1 << 7,
  DOORBELL_BUFFER_CONFIG: 1 << 8,
  GET_LBA_STATUS: 1 << 9,
} as const;

/** ONCS bits of Identify Controller: optional NVM commands supported (bytes 521:520). */
export const Oncs = {
  COMPARE: 1 << 0,
  WRITE_UNCORRECTABLE: 1 << 1,
  DATASET_MANAGEMENT: 1 << 2,
  WRITE_ZEROES: 1 << 3,
  SAVE_FEATURES: 1 << 4,
  RESERVATIONS: 1 << 5,
  TIMESTAMP: 1 << 6,
  VERIFY: 1 << 7,
  COPY: 1 << 8,
} as const;

/** SGLS bits of Identify Controller (Base Figure 275, bytes 539:536). */
export const SglSupport = {
  SUPPORTED_NO_ALIGNMENT: 0x1,
  SUPPORTED_DWORD_ALIGNMENT: 0x2,
  KEYED_DATA_BLOCK: 1 << 2,
  BIT_BUCKET: 1 << 16,
  BYTE_ALIGNED_CONTIGUOUS_MPTR: 1 << 17,
  LENGTH_LARGER_THAN_DATA: 1 << 18,
  MPTR_SINGLE_DESCRIPTOR: 1 << 19,
  ADDRESS_AS_OFFSET: 1 << 20,
  TRANSPORT_DATA_BLOCK: 1 << 21,
} as const;

/** Commands Supported and Effects entry bits (Base 5.16.1.6, Figure 210). */
export const CommandEffects = {
  CSUPP: 1 << 0,
  LBCC: 1 << 1,
  NCC: 1 << 2,
  NIC: 1 << 3,
  CCC: 1 << 4,
  CSER_MASK: 0x3 << 14,
  CSE_SHIFT: 16,
  CSE_MASK: 0x7,
  USS: 1 << 19,
} as const;

/** Dataset Management attribute bits of CDW11 (NVM 3.2.3, Figure 38). */
export const DsmAttributes = {
  INTEGRAL_READ: 1 << 0,
  INTEGRAL_WRITE: 1 << 1,
  DEALLOCATE: 1 << 2,
} as const;

/** Size of one Dataset Management range descriptor (NVM Figure 39). */
export const DSM_RANGE_SIZE = 16;
/** Most ranges one Dataset Management command carries (NR is 0's based, 8 bits). */
export const DSM_MAX_RANGES = 256;
/** Dataset Management CDW10 bits 7:0: NR, the number of ranges, 0's based (NVM 3.2.3). */
export const DSM_NR_MASK = 0xff;
/** Byte offsets in a Dataset Management range: attributes, NLB (1-based), SLBA (NVM Figure 39). */
export const DsmRangeOffset = {
  CATTR: 0,
  NLB: 4,
  SLBA: 8,
} as const;

/** Bits of CDW12 of Read, Write, Compare, Write Zeroes and Verify (NVM 3.2.6, Figure 49). */
export const RwControl = {
  NLB_MASK: 0xffff,
  DEAC: 1 << 25,
  PRINFO_SHIFT: 26,
  FUA: 1 << 30,
  LR: 1 << 31,
} as const;

// ---------------------------------------------------------------------------------------------
// Discovery (Fabrics 5)

/** The well-known NQN of a discovery controller (Base 4.5). */
export const DISCOVERY_NQN = "nqn.2014-08.org.nvmexpress.discovery";

/** Longest NQN in bytes, the terminating NUL excluded (Base 4.5). */
export const NQN_MAX_LENGTH = 223;
/** Size of the NQN fields in Connect data and Identify Controller (SUBNQN) (Base 4.5). */
export const NQN_FIELD_SIZE = 256;
/** Every NQN starts with this (Base 4.5). */
export const NQN_PREFIX = "nqn.";
/** Prefix of an NQN made from a UUID; the UUID string follows (Base 4.5). */
export const NQN_UUID_PREFIX = "nqn.2014-08.org.nvmexpress:uuid:";
/** Size of a UUID in bytes: a 128-bit Host Identifier, a UUID namespace identifier (Base 4.5.1). */
export const UUID_SIZE = 16;

/** Transport types, TRTYPE (Fabrics 5.3, Figure 38). */
export const TransportType = {
  RDMA: 1,
  FC: 2,
  TCP: 3,
  /** Intra-host transport; nvmf's in-memory loopback uses it, as Linux's nvme-loop does. */
  INTRA_HOST: 254,
} as const;

/** Address families, ADRFAM (Fabrics 5.3, Figure 38). */
export const AddressFamily = {
  IPV4: 1,
  IPV6: 2,
  IB: 3,
  FC: 4,
  INTRA_HOST: 254,
} as const;

/** Subsystem types in discovery log entries, SUBTYPE (Fabrics 5.3, Figure 38). */
export const SubsystemType = {
  REFERRAL: 1,
  NVME: 2,
  CURRENT_DISCOVERY: 3,
} as const;

/** Transport requirements, TREQ (Fabrics 5.3, Figure 38). */
export const TransportRequirements = {
  SECURE_CHANNEL_MASK: 0x3,
  NOT_SPECIFIED: 0x0,
  REQUIRED: 0x1,
  NOT_REQUIRED: 0x2,
  /** SQ flow control disable supported. */
  SQ_FLOW_CONTROL_DISABLE: 0x4,
} as const;

/** Entry flags, EFLAGS (Fabrics 5.3, Figure 38). */
export const DiscoveryEntryFlags = {
  DUPLICATE_RETURNED_INFORMATION: 1 << 0,
  EXPLICIT_PERSISTENT_CONNECTION: 1 << 1,
  NO_CDC_CONNECTIVITY: 1 << 2,
} as const;

/** TCP transport specific address subtype, TSAS.SECTYPE (TCP 8.1). */
export const TcpSecurityType = {
  NONE: 0,
  TLS_1_2: 1,
  TLS_1_3: 2,
} as const;

/** The IANA port for NVMe/TCP I/O controllers. */
export const NVME_TCP_PORT = 4420;
/** The IANA port for NVMe/TCP discovery controllers. */
export const NVME_TCP_DISCOVERY_PORT = 8009;

// ---------------------------------------------------------------------------------------------
// NVMe/TCP (TCP 3)

/** PDU types (TCP 3.6.1, Figure 14). */
export const PduType = {
  IC_REQ: 0x00,
  IC_RESP: 0x01,
  H2C_TERM_REQ: 0x02,
  C2H_TERM_REQ: 0x03,
  CAPSULE_CMD: 0x04,
  CAPSULE_RESP: 0x05,
  H2C_DATA: 0x06,
  C2H_DATA: 0x07,
  R2T: 0x09,
} as const;

/** Common header FLAGS bits (TCP 3.6.1, Figure 15). */
export const PduFlags = {
  HDGSTF: 0x01,
  DDGSTF: 0x02,
  /** LAST_PDU in H2CData/C2HData. */
  LAST_PDU: 0x04,
  /** SUCCESS in C2HData: the controller sends no CapsuleResp for this command. */
  SUCCESS: 0x08,
} as const;

/** Fixed header length HLEN of each PDU type (TCP 3.6.2). */
export const PduHeaderLength = {
  IC_REQ: 128,
  IC_RESP: 128,
  TERM_REQ: 24,
  CAPSULE_CMD: 72,
  CAPSULE_RESP: 24,
  H2C_DATA: 24,
  C2H_DATA: 24,
  R2T: 24,
} as const;

/** Size of the common header (TCP 3.6.1). */
export const PDU_COMMON_HEADER_SIZE = 8;
/** Size of a header or data digest, a CRC32C (TCP 3.6.4). */
export const PDU_DIGEST_SIZE = 4;
/** Protocol format version of ICReq/ICResp PFV (TCP 3.6.2.2). */
export const TCP_PFV_1_0 = 0;
/** Highest HPDA/CPDA value: alignment (PDA + 1) * 4 bytes, up to 128 (TCP 3.6.2.2). */
export const TCP_PDA_MAX = 31;
/** Bytes per unit of HPDA/CPDA (a dword): the alignment is (PDA + 1) * this (TCP 3.6.2.2). */
export const TCP_PDA_UNIT = 4;
/** Smallest MAXH2CDATA a controller may announce (TCP 3.6.2.3). */
export const TCP_MAXH2CDATA_MIN = 4096;
/** MAXH2CDATA is a multiple of this many bytes, a dword (TCP 3.6.2.3). */
export const TCP_MAXH2CDATA_ALIGN = 4;
/** Most bytes of the offending PDU header a TermReq carries (TCP 3.6.2.4). */
export const TCP_TERM_REQ_MAX_DATA = 152;

/** DGST byte bits of ICReq/ICResp (TCP 3.6.2.2). */
export const IcDigest = {
  HDGST_ENABLE: 0x01,
  DDGST_ENABLE: 0x02,
} as const;

/** Fatal Error Status of H2CTermReq/C2HTermReq (TCP 3.6.2.4, Figure 21). */
export const Fes = {
  INVALID_PDU_HEADER_FIELD: 0x01,
  PDU_SEQUENCE_ERROR: 0x02,
  HEADER_DIGEST_ERROR: 0x03,
  DATA_TRANSFER_OUT_OF_RANGE: 0x04,
  /** Also "R2T limit exceeded" (Linux NVME_TCP_FES_R2T_LIMIT_EXCEEDED shares the value). */
  DATA_TRANSFER_LIMIT_EXCEEDED: 0x05,
  UNSUPPORTED_PARAMETER: 0x06,
} as const;

/** In-capsule data size the admin and discovery queues allow over TCP (TCP 3.3: 8 KiB). */
export const TCP_ADMIN_MAX_ICD = 8192;

// ---------------------------------------------------------------------------------------------
// Reservations (Base 2.0 8.19 and the Reservation commands of clause 7; RESCAP: NVM Command Set 1.0)

/** Reservation types, RTYPE of Acquire and Release CDW10 bits 15:8 (Base 2.0, 7). */
export const ReservationType = {
  WRITE_EXCLUSIVE: 1,
  EXCLUSIVE_ACCESS: 2,
  WRITE_EXCLUSIVE_REGISTRANTS_ONLY: 3,
  EXCLUSIVE_ACCESS_REGISTRANTS_ONLY: 4,
  WRITE_EXCLUSIVE_ALL_REGISTRANTS: 5,
  EXCLUSIVE_ACCESS_ALL_REGISTRANTS: 6,
} as const;

/** Reservation Register Action, RREGA of CDW10 bits 2:0 (Base 2.0, 7). */
export const ReservationRegisterAction = {
  REGISTER: 0,
  UNREGISTER: 1,
  REPLACE: 2,
} as const;

/** Reservation Acquire Action, RACQA of CDW10 bits 2:0 (Base 2.0, 7). */
export const ReservationAcquireAction = {
  ACQUIRE: 0,
  PREEMPT: 1,
  PREEMPT_AND_ABORT: 2,
} as const;

/** Reservation Release Action, RRELA of CDW10 bits 2:0 (Base 2.0, 7). */
export const ReservationReleaseAction = {
  RELEASE: 0,
  CLEAR: 1,
} as const;

/** Change Persist Through Power Loss State, CPTPL of Register CDW10 bits 31:30. */
export const ReservationCptpl = {
  NO_CHANGE: 0,
  CLEAR: 2,
  SET: 3,
} as const;

/** Fields of the reservation commands' CDW10 and of Reservation Report CDW11 (Base 2.0, 7). */
export const ReservationBits = {
  /** RREGA, RACQA or RRELA: bits 2:0. */
  ACTION_MASK: 0x7,
  /** Ignore Existing Key, bit 3. */
  IEKEY: 1 << 3,
  /** RTYPE of Acquire and Release: bits 15:8. */
  RTYPE_SHIFT: 8,
  RTYPE_MASK: 0xff,
  /** CPTPL of Register: bits 31:30. */
  CPTPL_SHIFT: 30,
  CPTPL_MASK: 0x3,
  /** Reservation Report CDW11 bit 0: Extended Data Structure (128-bit host identifiers). */
  EDS: 1 << 0,
} as const;

/** RESCAP, reservation capabilities of Identify Namespace byte 31 (NVM Command Set 1.0). */
export const Rescap = {
  PERSIST_THROUGH_POWER_LOSS: 1 << 0,
  WRITE_EXCLUSIVE: 1 << 1,
  EXCLUSIVE_ACCESS: 1 << 2,
  WRITE_EXCLUSIVE_REGISTRANTS_ONLY: 1 << 3,
  EXCLUSIVE_ACCESS_REGISTRANTS_ONLY: 1 << 4,
  WRITE_EXCLUSIVE_ALL_REGISTRANTS: 1 << 5,
  EXCLUSIVE_ACCESS_ALL_REGISTRANTS: 1 << 6,
  /** Ignore Existing Key is used as revision 1.3 and later define it. */
  IEKEY_1_3: 1 << 7,
} as const;

/** Reservation Notification log page types (Base 2.0 5.16.1). */
export const ReservationNotificationType = {
  EMPTY: 0,
  REGISTRATION_PREEMPTED: 1,
  RESERVATION_RELEASED: 2,
  RESERVATION_PREEMPTED: 3,
} as const;

/** Reservation Notification Mask feature (82h) bits of CDW11 and DW0 (Base 2.0 5.27.1). */
export const ReservationNotificationMask = {
  /** Mask Registration Preempted notifications. */
  REGPRE: 1 << 1,
  /** Mask Reservation Released notifications. */
  RESREL: 1 << 2,
  /** Mask Reservation Preempted notifications. */
  RESPRE: 1 << 3,
} as const;

/** Reservation Persistence feature (83h) CDW11 and DW0 bit 0: Persist Through Power Loss. */
export const FEATURE_RESERVATION_PTPL = 0x1;

/** Asynchronous event information for the I/O Command Specific Status type (Base 2.0 5.2). */
export const AsyncEventIoCommandSpecific = {
  RESERVATION_LOG_PAGE_AVAILABLE: 0x00,
  SANITIZE_OPERATION_COMPLETED: 0x01,
  SANITIZE_OPERATION_COMPLETED_WITH_UNEXPECTED_DEALLOCATION: 0x02,
} as const;
