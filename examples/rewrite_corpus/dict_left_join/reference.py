SOURCES = {"customers": {"key": "customer_id"}, "orders": {"key": "order_id"}}


def prepare(customers, orders):
    joined = customers.join(orders, on="customer_id", how="left")
    return joined.select("customer_id", "name", "order_id", "amount")
