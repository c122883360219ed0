# The credit-card running example, as a data scientist wrote it: manual CSV parsing,
# a hand-coded hash join, filters in loops.
import csv
import os

customers_by_email = {}
with open("inputs/customers.csv") as f:
    reader = csv.reader(f)
    header = next(reader)
    for line in reader:
        row = dict(zip(header, line))
        if row["country"] in ("UK", "DE", "FR"):
            customers_by_email[row["email"]] = row

result = []
with open("inputs/mails.csv") as f:
    reader = csv.reader(f)
    header = next(reader)
    for line in reader:
        mail = dict(zip(header, line))
        if mail["date"] < "2022-01-01":
            continue
        customer = customers_by_email.get(mail["email"])
        if customer is None:
            continue
        result.append([mail["mail_id"], mail["email"], customer["customer_id"],
                       customer["bank"], customer["country"], customer["level"],
                       mail["date"], mail["mail_subject"].lower(), mail["mail_text"].lower()])

os.makedirs("output", exist_ok=True)
with open("output/result.csv", "w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(["mail_id", "email", "customer_id", "bank", "country", "level", "date",
                     "title", "text"])
    writer.writerows(result)
