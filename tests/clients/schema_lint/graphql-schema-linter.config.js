// graphql-schema-linter's configuration for schema.graphql (run by tests/clients/test_schema_linter.py).
// Every built-in rule runs except those the project does not follow, each listed below with why.
const notFollowed = {
  // Fields are in reading order (id and locator first, then what a person reads, then connections), not A-Z.
  "type-fields-sorted-alphabetically": "fields are grouped by meaning, the order GraphiQL and schema.graphql show",
  // Enum values are in the order of their domain: lifecycle states and actions in lifecycle order, codes by area.
  "enum-values-sorted-alphabetically": "values follow the lifecycle (DRAFT -> VALIDATED -> ...) and ErrorCode's areas",
  // Input fields follow the form a person fills in (type, names, identifiers, data), not A-Z.
  "input-object-fields-sorted-alphabetically": "input fields follow the order of the form they come from",
  // Interfaces are Node alone (id); there is nothing to sort, and the rule would fight the field order above.
  "interface-fields-sorted-alphabetically": "the one interface (Node) has one field; kept off with the rules above",
};

const followed = [
  "arguments-have-descriptions",
  "defined-types-are-used",
  "deprecations-have-a-reason",
  "descriptions-are-capitalized",
  "enum-values-all-caps",
  "enum-values-have-descriptions",
  "fields-are-camel-cased",
  "fields-have-descriptions",
  "input-object-values-are-camel-cased",
  "input-object-values-have-descriptions",
  "relay-connection-arguments-spec",
  "relay-connection-types-spec",
  "relay-page-info-spec",
  "types-are-capitalized",
  "types-have-descriptions",
];

module.exports = {
  schemaPaths: ["../../../schema.graphql"],
  rules: followed,
  notFollowed,
};
