from tests.api.helpers import create_code, create_producer


async def test_admin_creates_and_reads_a_producer(gql, new_tenant):
    tenant = await new_tenant()
    agency = await create_producer(gql, tenant.admin, type="Agency", organizationName="Acme")
    agent = await create_producer(gql, tenant.admin, parent=agency["id"])
    code = await create_code(gql, tenant.admin, agent["id"])
    data = await gql.ok("""query($id: ID!) { producer(id: $id) { id state kind parent { id name }
        ancestors { name } codes { totalCount edges { node { code state } } } } }""", {"id": agent["id"]},
                        token=tenant.admin)
    p = data["producer"]
    assert p["state"] == "DRAFT" and p["kind"] == "INDIVIDUAL"
    assert p["parent"]["name"] == "Acme"
    assert [a["name"] for a in p["ancestors"]] == ["Acme"]
    assert p["codes"]["totalCount"] == 1
    assert p["codes"]["edges"][0]["node"]["code"] == code["code"]
