# Contacts cleaned by hand (trimmed, lower-cased) and de-duplicated with a "seen" set;
# rows without an e-mail address are dropped.
import csv
import os

seen = set()
out = []
with open("inputs/contacts.csv") as f:
    for row in csv.DictReader(f):
        email = row["email"].strip().lower()
        if not email:
            continue
        city = row["city"].strip().lower()
        key = (email, city)
        if key in seen:
            continue
        seen.add(key)
        out.append(key)

os.makedirs("output", exist_ok=True)
with open("output/result.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["email", "city"])
    w.writerows(out)
