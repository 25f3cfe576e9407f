"""An analyst's Python session against the warehouse with clickhouse-connect, as shown in ANALYSTS.md.

Run (the dbt virtualenv has clickhouse-connect):
    CLICKHOUSE_HOST=127.0.0.1 CLICKHOUSE_PORT=8123 CLICKHOUSE_PASSWORD=... \
        .tools/dbt-venv/bin/python warehouse/analysts/example_session.py
The test suite runs this file against a real warehouse, so the guide's snippet keeps working.
"""
import os

import clickhouse_connect

client = clickhouse_connect.get_client(
    host=os.environ.get("CLICKHOUSE_HOST", "127.0.0.1"),
    port=int(os.environ.get("CLICKHOUSE_PORT", "8123")),
    username="analyst",  # read-only: the warehouse refuses anything but reads
    password=os.environ["CLICKHOUSE_PASSWORD"],
    database="onecard_analytics",
)
print("server", client.server_version)

# Parameters travel as {name:Type} bindings (param_* on the wire), never pasted into the SQL text.
result = client.query(
    "select merchant_id, business_date, purchases, net_takings_fen"
    " from mart_merchant_daily_takings"
    " where business_date between {from_day:Date} and {to_day:Date}"
    " order by net_takings_fen desc limit 10",
    parameters={"from_day": "2026-03-01", "to_day": "2026-03-31"},
)
for merchant_id, business_date, purchases, net_takings_fen in result.result_rows:
    # Money is integer fen; divide by 100 only to display yuan.
    print(merchant_id, business_date, purchases, f"{net_takings_fen / 100:.2f}")

# Raw streams are in database onecard; read them with FINAL so a redelivered event counts once.
swipes = client.query(
    "select kind, count() from onecard.swipes final where swipe_date >= {since:Date} group by kind order by kind",
    parameters={"since": "2026-03-01"},
)
print(dict(swipes.result_rows))
