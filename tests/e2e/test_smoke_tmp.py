async def test_smoke(service_store, merchant):
    variants = await merchant.seed_catalogue("service")
    o = await merchant.order([(variants[0]["id"], 1)], address=None)
    fo = o["fulfillment_orders"][0]["id"]
    d = await merchant.graphql("""query($id: ID!){ fulfillmentOrder(id:$id){ destination { address1 city countryCode firstName } deliveryMethod { methodType } lineItems(first:5){nodes{requiresShipping sku}} order { shippingAddress { address1 } } } }""", {"id": fo})
    print(d)
