/**
 * The statuses the controller and the target complete commands with, encoded once (CQE status
 * field, phase bit clear). DNR is set where a retry cannot succeed, as Linux's nvmet does.
 * Private to the package.
 *
 * @module
 */

import {
  CommandSpecificStatus,
  FabricsStatus,
  GenericStatus,
  MediaStatus,
  StatusCodeType,
  statusOf,
} from "@nvmf/proto";

const G = StatusCodeType.GENERIC;
const C = StatusCodeType.COMMAND_SPECIFIC;
const M = StatusCodeType.MEDIA_AND_DATA_INTEGRITY;

/** Successful completion. */
export const SUCCESS = 0;
/** The sentinel a handler returns when it sent its completion itself (or could not). */
export const NO_RESPONSE = -1;

export const INVALID_OPCODE: number = statusOf(G, GenericStatus.INVALID_COMMAND_OPCODE, true);
export const INVALID_FIELD: number = statusOf(G, GenericStatus.INVALID_FIELD_IN_COMMAND, true);
export const INVALID_NS: number = statusOf(G, GenericStatus.INVALID_NAMESPACE_OR_FORMAT, true);
export const SEQUENCE_ERROR: number = statusOf(G, GenericStatus.COMMAND_SEQUENCE_ERROR, true);
export const SGL_LENGTH_INVALID: number = statusOf(
  G,
  GenericStatus.DATA_SGL_LENGTH_INVALID,
  true,
);
export const LBA_OUT_OF_RANGE: number = statusOf(G, GenericStatus.LBA_OUT_OF_RANGE, true);
export const WRITE_PROTECTED: number = statusOf(
  G,
  GenericStatus.NAMESPACE_IS_WRITE_PROTECTED,
  true,
);
export const CID_CONFLICT: number = statusOf(G, GenericStatus.COMMAND_ID_CONFLICT, true);
export const INTERNAL_ERROR: number = statusOf(G, GenericStatus.INTERNAL_ERROR);
export const ABORT_REQUESTED: number = statusOf(G, GenericStatus.COMMAND_ABORT_REQUESTED);
export const KATO_INVALID: number = statusOf(G, GenericStatus.KEEP_ALIVE_TIMEOUT_INVALID);
export const AER_LIMIT: number = statusOf(
  C,
  CommandSpecificStatus.ASYNC_EVENT_REQUEST_LIMIT_EXCEEDED,
  true,
);
export const INVALID_LOG_PAGE: number = statusOf(C, CommandSpecificStatus.INVALID_LOG_PAGE, true);
export const NOT_SAVEABLE: number = statusOf(
  C,
  CommandSpecificStatus.FEATURE_IDENTIFIER_NOT_SAVEABLE,
  true,
);
export const INVALID_QUEUE_TYPE: number = statusOf(C, FabricsStatus.INVALID_QUEUE_TYPE, true);
export const INCOMPATIBLE_FORMAT: number = statusOf(
  C,
  FabricsStatus.CONNECT_INCOMPATIBLE_FORMAT,
  true,
);
export const CONTROLLER_BUSY: number = statusOf(C, FabricsStatus.CONNECT_CONTROLLER_BUSY, true);
export const INVALID_PARAMETERS: number = statusOf(
  C,
  FabricsStatus.CONNECT_INVALID_PARAMETERS,
  true,
);
export const INVALID_HOST: number = statusOf(C, FabricsStatus.CONNECT_INVALID_HOST, true);
export const COMPARE_FAILURE: number = statusOf(M, MediaStatus.COMPARE_FAILURE, true);
export const READ_ERROR: number = statusOf(M, MediaStatus.UNRECOVERED_READ_ERROR);
export const WRITE_FAULT: number = statusOf(M, MediaStatus.WRITE_FAULT);

/**
 * The status of a generic status code with DNR set, e.g. what `validateCommandCapsule`
 * returned.
 *
 * @param sc A generic status code (SCT 0).
 * @returns The CQE status field.
 */
export function genericStatus(sc: number): number {
  return statusOf(G, sc, true);
}
/** The transport lost the command's data (it never came): a retry may succeed. */
export const TRANSIENT_TRANSPORT_ERROR: number = statusOf(
  G,
  GenericStatus.TRANSIENT_TRANSPORT_ERROR,
);
