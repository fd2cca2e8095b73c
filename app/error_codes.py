"""Every error code the API can return, in one place: `userErrors.code`, `extensions.code`, row and check codes.

The GraphQL enum `ErrorCode` is generated from this class (schema/error_codes.py). A member is a `str`, so call
sites may pass the code as a plain string; DomainError, Problem, AuthError and the error shaper check it is
registered here. Adding a code is one line: `NAME = "NAME", "What it means and what to do."`.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """A stable machine code of a refusal or a failed check; the value is the name."""

    description: str

    def __new__(cls, value: str, description: str) -> ErrorCode:
        member = str.__new__(cls, value)
        member._value_ = value
        member.description = description
        return member

    # ---- the request: authentication, transport, parsing, limits (extensions.code) ----
    UNAUTHENTICATED = "UNAUTHENTICATED", "No bearer token was sent (HTTP 401): send `Authorization: Bearer <jwt>`."
    INVALID_TOKEN = "INVALID_TOKEN", "The bearer token is malformed, wrongly signed or names no usable tenant (HTTP 401)."
    TOKEN_EXPIRED = "TOKEN_EXPIRED", "The bearer token has expired (HTTP 401); request a new one."
    FORBIDDEN = "FORBIDDEN", "The caller's roles do not allow the operation or field."
    AGENCY_REMOVED = "AGENCY_REMOVED", "The agency (or producer) the token acts for was removed; the token can no longer act."
    THROTTLED = "THROTTLED", "The caller's query-cost budget cannot pay for the request (HTTP 429); retry after `Retry-After`."
    BAD_REQUEST = "BAD_REQUEST", "The HTTP request is not a GraphQL request this server accepts (HTTP 400)."
    INVALID_JSON = "INVALID_JSON", "The request body is not valid UTF-8 JSON, or nests too deeply (HTTP 400)."
    REQUEST_TOO_LARGE = "REQUEST_TOO_LARGE", "The request body is over `MAX_REQUEST_BYTES` (HTTP 413)."
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED", "The HTTP method is not allowed here, e.g. a mutation over GET (HTTP 405)."
    NOT_FOUND = "NOT_FOUND", "No such address (HTTP 404); in removeProducers results, no such visible producer."
    CORS_REFUSED = "CORS_REFUSED", "The request's Origin is not in `ALLOWED_ORIGINS`."
    CSRF_PREVENTED = "CSRF_PREVENTED", "A multipart request without a preflight header was refused as possible CSRF."
    SUBSCRIPTION_OVER_HTTP = "SUBSCRIPTION_OVER_HTTP", "A subscription was sent over HTTP; open a WebSocket instead."
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED", "The document is not valid GraphQL syntax."
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED", "The document does not match the schema (unknown field, bad enum value, wrong type...)."
    INVALID_CHARACTER = "INVALID_CHARACTER", "A string holds a NUL character, which no field accepts."
    QUERY_TOO_DEEP = "QUERY_TOO_DEEP", "The document nests deeper than `MAX_QUERY_DEPTH`."
    QUERY_TOO_LARGE = "QUERY_TOO_LARGE", "The document has more tokens than `MAX_QUERY_TOKENS`."
    TOO_MANY_ALIASES = "TOO_MANY_ALIASES", "The document uses more aliases than `MAX_ALIASES`."
    TOO_MANY_DIRECTIVES = "TOO_MANY_DIRECTIVES", "The document uses more directives than `MAX_DIRECTIVES`."
    QUERY_TOO_COSTLY = "QUERY_TOO_COSTLY", "The operation's computed cost is over `MAX_QUERY_COST`; ask for smaller pages."
    LIST_TOO_LONG = "LIST_TOO_LONG", "A list argument has more items than `MAX_LIST_LENGTH` (`extensions.limit`)."
    PAGE_TOO_LARGE = "PAGE_TOO_LARGE", "`first` or `last` is over `MAX_PAGE_SIZE`."
    INVALID_PAGE_SIZE = "INVALID_PAGE_SIZE", "`first` or `last` is negative."
    INVALID_CURSOR = "INVALID_CURSOR", "`after` or `before` is not a cursor this API returned."
    INVALID_WINDOW = "INVALID_WINDOW", "`expiringWithin` is not a number of days between 0 and 36500."
    INVALID_ID = "INVALID_ID", "`node`/`nodes` got a bare locator; send the object's global id."
    PERSISTED_QUERY_NOT_FOUND = "PERSISTED_QUERY_NOT_FOUND", "The persisted query's hash is unknown; send the text with the hash."
    PERSISTED_QUERY_HASH_MISMATCH = "PERSISTED_QUERY_HASH_MISMATCH", "The persisted query's hash is not the sha256 of the text sent."
    PERSISTED_QUERY_INVALID_HASH = "PERSISTED_QUERY_INVALID_HASH", "The persisted query's hash is not 64 hexadecimal digits."
    PERSISTED_QUERY_TOO_LARGE = "PERSISTED_QUERY_TOO_LARGE", "The query text is over `PERSISTED_QUERY_MAX_BYTES`; send it as a plain query."
    PERSISTED_QUERY_VERSION_UNSUPPORTED = "PERSISTED_QUERY_VERSION_UNSUPPORTED", "Only version 1 of persisted queries is supported."
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR", "An unexpected failure; quote `extensions.requestId` when reporting it."
    DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE", "The database cannot be reached at the moment; retry shortly."

    # ---- any mutation's input ----
    CONCURRENT_CHANGE = "CONCURRENT_CHANGE", "Another request changed the same objects at the same time; nothing was saved; retry."
    VALUE_TOO_LONG = "VALUE_TOO_LONG", "A text is longer than its field allows (the limit is in the message)."
    INVALID_DATA = "INVALID_DATA", "A JSON argument must be an object of named values."
    UNKNOWN_DATA_FIELD = "UNKNOWN_DATA_FIELD", "`data` names a field the type's configuration does not define."
    DATA_TYPE_MISMATCH = "DATA_TYPE_MISMATCH", "A `data` value is not of the field's configured type."
    MISSING_REQUIRED_DATA = "MISSING_REQUIRED_DATA", "A required `data` field is missing."
    INVALID_ENUM_VALUE = "INVALID_ENUM_VALUE", "A `data` value is not one of the field's configured values."
    UNKNOWN_TYPE = "UNKNOWN_TYPE", "The type name is not configured for this kind of object."
    ABSTRACT_TYPE = "ABSTRACT_TYPE", "The type is abstract; use a type that extends it."
    PLUGIN_FAILED = "PLUGIN_FAILED", "The tenant's precommit plugin failed; nothing was saved."
    PLUGIN_VALIDATION = "PLUGIN_VALIDATION", "The tenant's validation plugin reported a problem."
    INVALID_TRANSITION = "INVALID_TRANSITION", "The lifecycle does not allow that action from the current state."
    NOT_ALLOWED = "NOT_ALLOWED", "The caller may not change this object, e.g. its own agency or one above it."

    # ---- tenants ----
    TENANT_EXISTS = "TENANT_EXISTS", "A tenant of that name already exists."
    TENANT_NOT_FOUND = "TENANT_NOT_FOUND", "The tenant does not exist (any more)."
    TYPE_IN_USE = "TYPE_IN_USE", "The new configuration drops types that existing records use."

    # ---- producers ----
    PRODUCER_NOT_FOUND = "PRODUCER_NOT_FOUND", "No producer with that id is visible to you."
    PRODUCER_TERMINAL = "PRODUCER_TERMINAL", "The producer is retired or discarded; it cannot change."
    KIND_MISMATCH = "KIND_MISMATCH", "The new type is of another kind (individual or organization) than the producer."
    HIERARCHY_CYCLE = "HIERARCHY_CYCLE", "The parent would make the hierarchy a cycle."
    PARENT_NOT_FOUND = "PARENT_NOT_FOUND", "The parent producer does not exist or is not visible to you."
    PARENT_NOT_ACTIVE = "PARENT_NOT_ACTIVE", "The parent producer is not active and cannot take producers."
    PARENT_REQUIRED = "PARENT_REQUIRED", "An agency-scoped caller must keep producers inside its agency."
    MISSING_LAST_NAME = "MISSING_LAST_NAME", "An individual producer needs a last name."
    MISSING_ORGANIZATION_NAME = "MISSING_ORGANIZATION_NAME", "An organization producer needs an organization name."
    INVALID_NPN = "INVALID_NPN", "The NPN is missing or not 1 to 10 digits."
    INVALID_SSN = "INVALID_SSN", "The SSN is missing or not a valid 9-digit SSN."
    INVALID_EMAIL = "INVALID_EMAIL", "The email address is missing or not valid."
    INVALID_GENDER = "INVALID_GENDER", "The gender is missing or not one of M, F or X."
    HAS_ACTIVE_DESCENDANTS = "HAS_ACTIVE_DESCENDANTS", "Active producers below keep this one from being removed."

    # ---- producer codes ----
    PRODUCER_CODE_NOT_FOUND = "PRODUCER_CODE_NOT_FOUND", "No producer code with that id or value is visible to you."
    PRODUCER_CODE_TERMINAL = "PRODUCER_CODE_TERMINAL", "The producer code is retired or discarded; it cannot change."
    CODE_TAKEN = "CODE_TAKEN", "The code value is already used in this tenant."
    CODE_REQUIRED = "CODE_REQUIRED", "The producer code has no value and its type no numbering plan."
    CODE_IN_USE = "CODE_IN_USE", "The producer code is used by a quote beyond draft or a policy; it cannot be discarded."
    INVALID_CODE = "INVALID_CODE", "The code value is empty or longer than 100 characters."
    NUMBERING_EXHAUSTED = "NUMBERING_EXHAUSTED", "The numbering plan keeps producing codes already in use; set the code."

    # ---- licenses and appointments ----
    LICENSE_NOT_FOUND = "LICENSE_NOT_FOUND", "No license with that id is visible to you (or it belongs to another producer)."
    APPOINTMENT_NOT_FOUND = "APPOINTMENT_NOT_FOUND", "No appointment with that id is visible to you."
    LICENSE_DISCARDED = "LICENSE_DISCARDED", "The license is discarded; it cannot change."
    APPOINTMENT_DISCARDED = "APPOINTMENT_DISCARDED", "The appointment is discarded; it cannot change."
    APPOINTMENT_TERMINATED = "APPOINTMENT_TERMINATED", "The appointment is terminated; it cannot change."
    LICENSE_NUMBER_TAKEN = "LICENSE_NUMBER_TAKEN", "The producer already holds that license number in that jurisdiction."
    NUMBER_REQUIRED = "NUMBER_REQUIRED", "A license or appointment needs its number before it is validated."
    INVALID_RESIDENCY = "INVALID_RESIDENCY", "Residency is resident or non-resident."
    INVALID_STATE = "INVALID_STATE", "The state (or jurisdiction) given is not one of the allowed values."
    INVALID_TERMINATION_REASON = "INVALID_TERMINATION_REASON", "The termination reason is not one of the allowed values."
    INVALID_TIME_WINDOW = "INVALID_TIME_WINDOW", "The expiration time must be after the effective time."
    UNKNOWN_JURISDICTION = "UNKNOWN_JURISDICTION", "The jurisdiction is not one of the tenant's jurisdictions."
    UNKNOWN_LINE_OF_AUTHORITY = "UNKNOWN_LINE_OF_AUTHORITY", "The line of authority is not offered in that jurisdiction."
    UNKNOWN_PRODUCER_CODE = "UNKNOWN_PRODUCER_CODE", "The producer code does not belong to this producer."
    UNKNOWN_PRODUCT = "UNKNOWN_PRODUCT", "The product is not configured."

    # ---- qualification criteria (QualificationReason.code, ProducerCheckReason.criterion) ----
    NO_LICENSE = "NO_LICENSE", "The producer has no license; the product requires a qualifying one."
    NO_APPOINTMENT = "NO_APPOINTMENT", "The producer has no appointment; the product requires a qualifying one."
    TERMINATED = "TERMINATED", "The appointment was terminated; it never qualifies again."
    NOT_VALIDATED = "NOT_VALIDATED", "The license or appointment is not validated."
    OTHER_PRODUCER = "OTHER_PRODUCER", "The license or appointment belongs to another producer."
    JURISDICTION_NOT_COVERED = "JURISDICTION_NOT_COVERED", "The license or appointment does not cover the jurisdiction."
    PRODUCT_NOT_COVERED = "PRODUCT_NOT_COVERED", "The license or appointment does not cover the product."
    PRODUCER_CODE_NOT_COVERED = "PRODUCER_CODE_NOT_COVERED", "The license or appointment does not cover the producer code."
    NOT_YET_EFFECTIVE = "NOT_YET_EFFECTIVE", "The license or appointment is not yet effective at the time checked."
    EXPIRED = "EXPIRED", "The license or appointment has expired at the time checked."
    LINES_OF_AUTHORITY_MISSING = "LINES_OF_AUTHORITY_MISSING", "The license lacks lines of authority the product requires."

    # ---- quotes, underwriting, policies ----
    QUOTE_NOT_FOUND = "QUOTE_NOT_FOUND", "No quote with that id is visible to you."
    QUOTE_LOCKED = "QUOTE_LOCKED", "The quote is underwritten or issued; it can no longer change."
    PRODUCT_REQUIRED = "PRODUCT_REQUIRED", "A quote needs a product."
    EFFECTIVE_TIME_REQUIRED = "EFFECTIVE_TIME_REQUIRED", "A quote needs an effective time."
    PRODUCER_CODE_NOT_VALIDATED = "PRODUCER_CODE_NOT_VALIDATED", "The producer code is not validated."
    PRODUCER_CODE_NOT_USABLE = "PRODUCER_CODE_NOT_USABLE", "The producer code is in a state that cannot be used here."
    PRODUCER_NOT_VALIDATED = "PRODUCER_NOT_VALIDATED", "The code's producer, or a producer above it, is not validated."
    PRODUCER_REMOVED = "PRODUCER_REMOVED", "The code's producer (or one above it) was removed; the code cannot write business."
    NOT_QUALIFIED = "NOT_QUALIFIED", "The producer is not qualified for the product (see the criterion)."
    UNDERWRITING_FLAG = "UNDERWRITING_FLAG", "An underwriting flag holds the quote or transaction until it is cleared."
    FLAG_NOT_FOUND = "FLAG_NOT_FOUND", "No underwriting flag with that id is visible to you."
    FLAG_PERMANENT = "FLAG_PERMANENT", "A reject flag is permanent; it cannot be cleared."
    INVALID_FLAG_LEVEL = "INVALID_FLAG_LEVEL", "The flag level is not info, block, decline or reject."
    TAG_REQUIRED = "TAG_REQUIRED", "A flag needs a tag."
    SUBJECT_REQUIRED = "SUBJECT_REQUIRED", "Flag either a quote or a policy transaction."
    TRANSACTION_ISSUED = "TRANSACTION_ISSUED", "The policy transaction is issued; it takes no more changes or flags."
    POLICY_NOT_FOUND = "POLICY_NOT_FOUND", "No policy with that id is visible to you."
    POLICY_TRANSACTION_NOT_FOUND = "POLICY_TRANSACTION_NOT_FOUND", "No policy transaction with that id is visible to you."
    CONFLICTING_INSTRUCTION = "CONFLICTING_INSTRUCTION", "The producers instruction both sets and clears (or reverts) a code."

    # ---- onboarding ----
    REGISTRY_NOT_FOUND = "REGISTRY_NOT_FOUND", "No producer matching the identification is in the producer registry."
    AMBIGUOUS_MATCH = "AMBIGUOUS_MATCH", "Several registry producers match; onboard by NPN instead."
    LAST_NAME_MISMATCH = "LAST_NAME_MISMATCH", "The registry producer has another last name than the one given."
    SSN_MISMATCH = "SSN_MISMATCH", "The SSN given is not the one the registry holds for the NPN."
    ALREADY_ONBOARDED = "ALREADY_ONBOARDED", "The producer is already active in this agency."
    AGENCY_NOT_FOUND = "AGENCY_NOT_FOUND", "The agency does not exist or is not visible to you."
    AGENCY_NOT_ACTIVE = "AGENCY_NOT_ACTIVE", "The agency is not active; it cannot take producers."
    AGENCY_REQUIRED = "AGENCY_REQUIRED", "Say which agency the producer joins (`agencyId`)."
    NO_INDIVIDUAL_TYPE = "NO_INDIVIDUAL_TYPE", "The tenant configuration has no concrete individual producer type."
    NO_LICENSE_TYPE = "NO_LICENSE_TYPE", "The tenant configuration has no concrete license type."
    ONBOARDING_NOT_FOUND = "ONBOARDING_NOT_FOUND", "No onboarding with that id is visible to you."
    ONBOARDING_NOT_IN_PROGRESS = "ONBOARDING_NOT_IN_PROGRESS", "The onboarding is finished or cancelled."
    PRODUCER_NOT_ACTIVE = "PRODUCER_NOT_ACTIVE", "The onboarded producer was removed; onboard it again."
    MISSING_IDENTIFICATION = "MISSING_IDENTIFICATION", "Identify the producer by SSN and last name, by NPN, or by license and state."
    MULTIPLE_IDENTIFICATIONS = "MULTIPLE_IDENTIFICATIONS", "Identify the producer one way only."
    MISSING_STATE = "MISSING_STATE", "Onboarding by license needs the state that issued it."
    MISSING_LICENSE_NUMBER = "MISSING_LICENSE_NUMBER", "A license needs its license number."
    STATES_REQUIRED = "STATES_REQUIRED", "Assign at least one state, or say `noNewStates: true`."
    CONFLICTING_STATES = "CONFLICTING_STATES", "`noNewStates: true` and states were both given."
    DUPLICATE_JURISDICTION = "DUPLICATE_JURISDICTION", "A jurisdiction is assigned twice."
    LINES_OF_AUTHORITY_REQUIRED = "LINES_OF_AUTHORITY_REQUIRED", "Choose at least one line of authority for the state."
    INVALID_STATE_SELECTION = "INVALID_STATE_SELECTION", "The state assignment cannot be estimated as given."
    MIXED_CURRENCIES = "MIXED_CURRENCIES", "The selected jurisdictions charge in different currencies."
    INVALID_PAYER = "INVALID_PAYER", "The payer is not AGENCY or PRODUCER."
    PAYMENT_SETUP_REQUIRED = "PAYMENT_SETUP_REQUIRED", "Set up the payment before finishing the onboarding."
    REVIEW_REQUIRED = "REVIEW_REQUIRED", "Review the assigned states before finishing the onboarding."
    ROW_ALREADY_ONBOARDED = "ROW_ALREADY_ONBOARDED", "The bulk row is already onboarded."

    # ---- producer registry import ----
    INVALID_DATE = "INVALID_DATE", "A registry date is not written as YYYY-MM-DD."
    INVALID_DATES = "INVALID_DATES", "A registry license expires before it is effective."
    INVALID_LICENSE_STATUS = "INVALID_LICENSE_STATUS", "A registry license status is not active or inactive."
    INVALID_REGISTRY_FILE = "INVALID_REGISTRY_FILE", "A JSON registry extract is not valid JSON, or a producer in it is not an object."
    UNSUPPORTED_FILE = "UNSUPPORTED_FILE", "A registry extract is a .csv or .json file."

    # ---- bulk onboarding: jobs, files and rows (BulkOnboardingRow.errorCode and problems) ----
    BULK_JOB_NOT_FOUND = "BULK_JOB_NOT_FOUND", "No bulk onboarding job with that id is visible to you."
    BULK_ROW_NOT_FOUND = "BULK_ROW_NOT_FOUND", "The job has no row with that number."
    INVALID_JOB_STATE = "INVALID_JOB_STATE", "The job's status does not allow the action."
    JOB_ALREADY_STARTED = "JOB_ALREADY_STARTED", "The action is only possible before onboarding starts."
    NO_ROWS = "NO_ROWS", "Name at least one row."
    NO_VALID_ROWS = "NO_VALID_ROWS", "The file has no valid row to onboard."
    PAYMENT_REQUIRED = "PAYMENT_REQUIRED", "Set the payment details before starting the job."
    INVALID_PAYMENT = "INVALID_PAYMENT", "A payer is not AGENCY or PRODUCER."
    ROW_NOT_EDITABLE = "ROW_NOT_EDITABLE", "Only invalid or failed rows can be corrected."
    ROW_NOT_RETRYABLE = "ROW_NOT_RETRYABLE", "Only failed (or fixed) rows can be retried."
    DUPLICATE_IN_FILE = "DUPLICATE_IN_FILE", "The NPN or SSN appears in another row of the file."
    ALREADY_IN_AGENCY = "ALREADY_IN_AGENCY", "The NPN or SSN belongs to a live producer of the agency."
    INTERNAL_ERROR = "INTERNAL_ERROR", "The row could not be onboarded because of an internal error; retry it."
    EMPTY_FILE = "EMPTY_FILE", "The uploaded file is empty."
    FILE_TOO_LARGE = "FILE_TOO_LARGE", "The uploaded file is over the size limit; split it."
    TOO_MANY_ROWS = "TOO_MANY_ROWS", "The file has more producer rows than allowed; split it."
    NO_DATA_ROWS = "NO_DATA_ROWS", "The file has a header row but no producer rows."
    NO_SHEET = "NO_SHEET", "The Excel file has no worksheet."
    MISSING_COLUMNS = "MISSING_COLUMNS", "The header row lacks required columns."
    CSV_UNREADABLE = "CSV_UNREADABLE", "The CSV file cannot be read."
    XLSX_UNREADABLE = "XLSX_UNREADABLE", "The Excel file is damaged and cannot be opened."
    XLSX_TOO_LARGE_UNCOMPRESSED = "XLSX_TOO_LARGE_UNCOMPRESSED", "The Excel file expands to more than the allowed size."
    XLSX_TOO_MANY_STRINGS = "XLSX_TOO_MANY_STRINGS", "The Excel file's text table expands to more than allowed."
    UNSUPPORTED_FILE_TYPE = "UNSUPPORTED_FILE_TYPE", "Upload a CSV (UTF-8) or an Excel .xlsx file."

    # ---- documents (media data fields) ----
    DOCUMENT_EMPTY = "DOCUMENT_EMPTY", "The uploaded file is empty; nothing was stored."
    DOCUMENT_TOO_LARGE = "DOCUMENT_TOO_LARGE", "The file is over the field's `maxBytes` (or `DOCUMENT_MAX_BYTES`); nothing was stored."
    DOCUMENT_NOT_A_PDF = "DOCUMENT_NOT_A_PDF", "The file is named or sent as a PDF but its bytes are not a PDF; nothing was stored."
    DOCUMENT_TYPE_NOT_ALLOWED = "DOCUMENT_TYPE_NOT_ALLOWED", "The file's type, read from its bytes, is not in the field's `contentTypes`."
    DOCUMENT_FIELD_UNKNOWN = "DOCUMENT_FIELD_UNKNOWN", "The entity's type has no media data field of that name."
    DOCUMENT_ENTITY_NOT_FOUND = "DOCUMENT_ENTITY_NOT_FOUND", "No visible producer, code, license or appointment has that id."
    DOCUMENT_ENTITY_CLOSED = "DOCUMENT_ENTITY_CLOSED", "The entity is retired, discarded or terminated: documents can no longer change."
    DOCUMENT_NOT_FOUND = "DOCUMENT_NOT_FOUND", "No visible, attached document has that id (removed documents are not downloadable)."
    DOCUMENT_ATTACH_ONLY = "DOCUMENT_ATTACH_ONLY", "A media field is set with attachDocument, not through `data`."

    # ---- webhooks ----
    WEBHOOK_URL_INVALID = "WEBHOOK_URL_INVALID", "The endpoint URL is not an absolute http(s) URL with a host (and no user or password)."
    WEBHOOK_URL_FORBIDDEN = "WEBHOOK_URL_FORBIDDEN", "The endpoint's host resolves to a loopback, private or reserved address (refused in production)."
    WEBHOOK_EVENTS_REQUIRED = "WEBHOOK_EVENTS_REQUIRED", "Name at least one event type, `family.*` or `*`."
    WEBHOOK_EVENTS_INVALID = "WEBHOOK_EVENTS_INVALID", "An event type is unknown, or there are too many (see `webhookEventTypes`)."
    WEBHOOK_ENDPOINT_NOT_FOUND = "WEBHOOK_ENDPOINT_NOT_FOUND", "No webhook endpoint of this tenant has that id."


def registered(code: str) -> ErrorCode:
    """The member for `code`; a ValueError (a bug, not bad input) when the code is not registered above."""
    try:
        return ErrorCode[code]
    except KeyError:
        raise ValueError(f"error code {code!r} is not in app/error_codes.py: add it to ErrorCode") from None
