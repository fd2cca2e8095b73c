/**
 * What a client does about each error code: an exhaustive switch over the generated ErrorCode union.
 * When the server adds a code, `tsc --noEmit` fails here (the `never` below) until the code gets its case,
 * so a frontend cannot silently miss one (tests/clients/test_typescript_example.py shows it).
 */
import type { ErrorCode, LifecycleAction, ValidateProducerMutation } from "./generated/graphql.js";

export const VALIDATE_PRODUCER = /* GraphQL */ `
  mutation ValidateProducer($id: ID!) {
    validateProducer(id: $id) {
      producer { id state allowedActions }
      userErrors { field message code }
    }
  }
`;

export type Remedy = "signIn" | "retry" | "smallerRequest" | "forbidden" | "notFound" | "notQualified" | "clientBug"
  | "fixInput";

export function remedy(code: ErrorCode): Remedy {
  switch (code) {
    // sign in again: the token is missing, invalid, expired or no longer acts for its agency
    case "UNAUTHENTICATED":
    case "INVALID_TOKEN":
    case "TOKEN_EXPIRED":
    case "AGENCY_REMOVED":
      return "signIn";
    // retry the same request later (after Retry-After for THROTTLED)
    case "THROTTLED":
    case "PERSISTED_QUERY_NOT_FOUND":
    case "DATABASE_UNAVAILABLE":
    case "CONCURRENT_CHANGE":
    case "INTERNAL_ERROR":
      return "retry";
    // ask for less: smaller pages, fewer aliases, a shallower or shorter document
    case "REQUEST_TOO_LARGE":
    case "QUERY_TOO_DEEP":
    case "QUERY_TOO_LARGE":
    case "TOO_MANY_ALIASES":
    case "TOO_MANY_DIRECTIVES":
    case "QUERY_TOO_COSTLY":
    case "LIST_TOO_LONG":
    case "PAGE_TOO_LARGE":
    case "PERSISTED_QUERY_TOO_LARGE":
      return "smallerRequest";
    // the caller's roles or scope do not allow it: hide the action
    case "FORBIDDEN":
    case "NOT_ALLOWED":
      return "forbidden";
    // the object is gone or not visible: refresh the list
    case "NOT_FOUND":
    case "TENANT_NOT_FOUND":
    case "PRODUCER_NOT_FOUND":
    case "PARENT_NOT_FOUND":
    case "PRODUCER_CODE_NOT_FOUND":
    case "LICENSE_NOT_FOUND":
    case "APPOINTMENT_NOT_FOUND":
    case "QUOTE_NOT_FOUND":
    case "FLAG_NOT_FOUND":
    case "POLICY_NOT_FOUND":
    case "POLICY_TRANSACTION_NOT_FOUND":
    case "REGISTRY_NOT_FOUND":
    case "AGENCY_NOT_FOUND":
    case "ONBOARDING_NOT_FOUND":
    case "BULK_JOB_NOT_FOUND":
    case "BULK_ROW_NOT_FOUND":
    case "DOCUMENT_ENTITY_NOT_FOUND":
    case "DOCUMENT_NOT_FOUND":
    case "WEBHOOK_ENDPOINT_NOT_FOUND":
      return "notFound";
    // the producer cannot write this business yet: show the reasons
    case "NO_LICENSE":
    case "NO_APPOINTMENT":
    case "TERMINATED":
    case "NOT_VALIDATED":
    case "OTHER_PRODUCER":
    case "JURISDICTION_NOT_COVERED":
    case "PRODUCT_NOT_COVERED":
    case "PRODUCER_CODE_NOT_COVERED":
    case "NOT_YET_EFFECTIVE":
    case "EXPIRED":
    case "LINES_OF_AUTHORITY_MISSING":
    case "PRODUCER_CODE_NOT_VALIDATED":
    case "PRODUCER_NOT_VALIDATED":
    case "PRODUCER_REMOVED":
    case "NOT_QUALIFIED":
    case "UNDERWRITING_FLAG":
      return "notQualified";
    // the client sent something the server never accepts: fix the client
    case "BAD_REQUEST":
    case "INVALID_JSON":
    case "METHOD_NOT_ALLOWED":
    case "CORS_REFUSED":
    case "CSRF_PREVENTED":
    case "SUBSCRIPTION_OVER_HTTP":
    case "GRAPHQL_PARSE_FAILED":
    case "GRAPHQL_VALIDATION_FAILED":
    case "INVALID_CHARACTER":
    case "INVALID_PAGE_SIZE":
    case "INVALID_CURSOR":
    case "INVALID_WINDOW":
    case "INVALID_ID":
    case "PERSISTED_QUERY_HASH_MISMATCH":
    case "PERSISTED_QUERY_INVALID_HASH":
    case "PERSISTED_QUERY_VERSION_UNSUPPORTED":
    case "INTERNAL_SERVER_ERROR":
      return "clientBug";
    // show the message next to `field` and let the person correct the input
    case "VALUE_TOO_LONG":
    case "INVALID_DATA":
    case "UNKNOWN_DATA_FIELD":
    case "DATA_TYPE_MISMATCH":
    case "MISSING_REQUIRED_DATA":
    case "INVALID_ENUM_VALUE":
    case "UNKNOWN_TYPE":
    case "ABSTRACT_TYPE":
    case "PLUGIN_FAILED":
    case "PLUGIN_VALIDATION":
    case "INVALID_TRANSITION":
    case "TENANT_EXISTS":
    case "TYPE_IN_USE":
    case "PRODUCER_TERMINAL":
    case "KIND_MISMATCH":
    case "HIERARCHY_CYCLE":
    case "PARENT_NOT_ACTIVE":
    case "PARENT_REQUIRED":
    case "MISSING_LAST_NAME":
    case "MISSING_ORGANIZATION_NAME":
    case "INVALID_NPN":
    case "INVALID_SSN":
    case "INVALID_EMAIL":
    case "INVALID_GENDER":
    case "HAS_ACTIVE_DESCENDANTS":
    case "PRODUCER_CODE_TERMINAL":
    case "CODE_TAKEN":
    case "CODE_REQUIRED":
    case "CODE_IN_USE":
    case "INVALID_CODE":
    case "NUMBERING_EXHAUSTED":
    case "LICENSE_DISCARDED":
    case "APPOINTMENT_DISCARDED":
    case "APPOINTMENT_TERMINATED":
    case "LICENSE_NUMBER_TAKEN":
    case "NUMBER_REQUIRED":
    case "INVALID_RESIDENCY":
    case "INVALID_STATE":
    case "INVALID_TERMINATION_REASON":
    case "INVALID_TIME_WINDOW":
    case "UNKNOWN_JURISDICTION":
    case "UNKNOWN_LINE_OF_AUTHORITY":
    case "UNKNOWN_PRODUCER_CODE":
    case "UNKNOWN_PRODUCT":
    case "QUOTE_LOCKED":
    case "PRODUCT_REQUIRED":
    case "EFFECTIVE_TIME_REQUIRED":
    case "PRODUCER_CODE_NOT_USABLE":
    case "FLAG_PERMANENT":
    case "INVALID_FLAG_LEVEL":
    case "TAG_REQUIRED":
    case "SUBJECT_REQUIRED":
    case "TRANSACTION_ISSUED":
    case "CONFLICTING_INSTRUCTION":
    case "AMBIGUOUS_MATCH":
    case "LAST_NAME_MISMATCH":
    case "SSN_MISMATCH":
    case "ALREADY_ONBOARDED":
    case "AGENCY_NOT_ACTIVE":
    case "AGENCY_REQUIRED":
    case "NO_INDIVIDUAL_TYPE":
    case "NO_LICENSE_TYPE":
    case "ONBOARDING_NOT_IN_PROGRESS":
    case "PRODUCER_NOT_ACTIVE":
    case "MISSING_IDENTIFICATION":
    case "MULTIPLE_IDENTIFICATIONS":
    case "MISSING_STATE":
    case "MISSING_LICENSE_NUMBER":
    case "STATES_REQUIRED":
    case "CONFLICTING_STATES":
    case "DUPLICATE_JURISDICTION":
    case "LINES_OF_AUTHORITY_REQUIRED":
    case "INVALID_STATE_SELECTION":
    case "MIXED_CURRENCIES":
    case "INVALID_PAYER":
    case "PAYMENT_SETUP_REQUIRED":
    case "REVIEW_REQUIRED":
    case "ROW_ALREADY_ONBOARDED":
    case "INVALID_DATE":
    case "INVALID_DATES":
    case "INVALID_LICENSE_STATUS":
    case "INVALID_REGISTRY_FILE":
    case "UNSUPPORTED_FILE":
    case "INVALID_JOB_STATE":
    case "JOB_ALREADY_STARTED":
    case "NO_ROWS":
    case "NO_VALID_ROWS":
    case "PAYMENT_REQUIRED":
    case "INVALID_PAYMENT":
    case "ROW_NOT_EDITABLE":
    case "ROW_NOT_RETRYABLE":
    case "DUPLICATE_IN_FILE":
    case "ALREADY_IN_AGENCY":
    case "EMPTY_FILE":
    case "FILE_TOO_LARGE":
    case "TOO_MANY_ROWS":
    case "NO_DATA_ROWS":
    case "NO_SHEET":
    case "MISSING_COLUMNS":
    case "CSV_UNREADABLE":
    case "XLSX_UNREADABLE":
    case "XLSX_TOO_LARGE_UNCOMPRESSED":
    case "XLSX_TOO_MANY_STRINGS":
    case "UNSUPPORTED_FILE_TYPE":
    case "DOCUMENT_EMPTY":
    case "DOCUMENT_TOO_LARGE":
    case "DOCUMENT_NOT_A_PDF":
    case "DOCUMENT_TYPE_NOT_ALLOWED":
    case "DOCUMENT_FIELD_UNKNOWN":
    case "DOCUMENT_ENTITY_CLOSED":
    case "DOCUMENT_ATTACH_ONLY":
    case "WEBHOOK_URL_INVALID":
    case "WEBHOOK_URL_FORBIDDEN":
    case "WEBHOOK_EVENTS_REQUIRED":
    case "WEBHOOK_EVENTS_INVALID":
      return "fixInput";
    default: {
      const unhandled: never = code;
      throw new Error(`unhandled error code ${String(unhandled)}`);
    }
  }
}

/** The label of a lifecycle button; exhaustive over LifecycleAction in the same way. */
export function actionLabel(action: LifecycleAction): string {
  switch (action) {
    case "VALIDATE":
      return "Validate";
    case "SUSPEND":
      return "Suspend";
    case "UNSUSPEND":
      return "Unsuspend";
    case "RETIRE":
      return "Retire";
    case "DISCARD":
      return "Discard";
    default: {
      const unhandled: never = action;
      throw new Error(`unhandled action ${String(unhandled)}`);
    }
  }
}

type Payload = ValidateProducerMutation["validateProducer"];

/** One line per user error: where (the input path joined with dots) and what to do. */
export function describe(payload: Payload): string[] {
  return payload.userErrors.map((e) => `${(e.field ?? []).join(".") || "input"}: ${e.message} [${remedy(e.code)}]`);
}

/** The buttons to show for the validated (or refused) producer. */
export function buttons(payload: Payload): string[] {
  return (payload.producer?.allowedActions ?? []).map(actionLabel);
}
