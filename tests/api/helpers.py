"""Builders for API tests: create producers and codes through GraphQL and return their ids."""

from __future__ import annotations

from typing import Any

CREATE_PRODUCER = """
mutation($input: CreateProducerInput!) {
  createProducer(input: $input) {
    producer { id locator state type kind parent { id } }
    userErrors { field message code }
  }
}"""

CREATE_CODE = """
mutation($input: CreateProducerCodeInput!) {
  createProducerCode(input: $input) {
    producerCode { id locator code state producer { id } }
    userErrors { field message code }
  }
}"""

TRANSITION = """
mutation($id: ID!) {{
  {name}(id: $id) {{
    {field} {{ id state validationResult {{ valid items {{ code message }} }} }}
    userErrors {{ field message code }}
  }}
}}"""


def transition_mutation(action: str, subject: str = "Producer") -> str:
    name = f"{action}{subject}"
    field = "producer" if subject == "Producer" else "producerCode"
    return TRANSITION.format(name=name, field=field)


async def create_producer(gql: Any, token: str, *, type: str = "Agent", parent: str | None = None,
                          **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {"type": type, **fields}
    if type == "Agent":
        payload.setdefault("lastName", "Rivera")
        payload.setdefault("firstName", "Ana")
    else:
        payload.setdefault("organizationName", "Acme Agency")
    if parent:
        payload["parentId"] = parent
    data = await gql.ok(CREATE_PRODUCER, {"input": payload}, token=token)
    result = data["createProducer"]
    assert result["userErrors"] == [], result["userErrors"]
    return result["producer"]  # type: ignore[no-any-return]


async def validated_producer(gql: Any, token: str, **kwargs: Any) -> dict[str, Any]:
    producer = await create_producer(gql, token, **kwargs)
    data = await gql.ok(transition_mutation("validate"), {"id": producer["id"]}, token=token)
    assert data["validateProducer"]["userErrors"] == [], data
    return producer


async def create_code(gql: Any, token: str, producer_id: str, *, type: str = "AgentCode",
                      code: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {"type": type, "producerId": producer_id}
    if code is not None:
        payload["code"] = code
    data = await gql.ok(CREATE_CODE, {"input": payload}, token=token)
    result = data["createProducerCode"]
    assert result["userErrors"] == [], result["userErrors"]
    return result["producerCode"]  # type: ignore[no-any-return]
