# Sessions attributed to campaigns with two nested loops and parsed dates (a session in two
# running campaigns of its channel counts for both; sessions without a channel for none).
import csv
import os
from datetime import datetime


def day(text):
    return datetime.strptime(text, "%Y-%m-%d").date()


with open("inputs/campaigns.csv") as f:
    campaigns = list(csv.DictReader(f))

out = []
with open("inputs/sessions.csv") as f:
    for s in csv.DictReader(f):
        if not s["channel"]:
            continue
        visited = day(s["visit_date"])
        for c in campaigns:
            if c["channel"] != s["channel"]:
                continue
            if day(c["start_date"]) <= visited <= day(c["end_date"]):
                out.append([s["session_id"], c["campaign_id"], s["channel"], s["visit_date"]])

os.makedirs("output", exist_ok=True)
with open("output/result.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["session_id", "campaign_id", "channel", "visit_date"])
    w.writerows(out)
