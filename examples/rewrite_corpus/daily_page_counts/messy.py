# Page views per user and day: timestamps parsed with strptime, views counted and distinct
# pages collected in dicts keyed by (user, day).
import csv
import os
from datetime import datetime

views, pages = {}, {}
with open("inputs/events.csv") as f:
    for row in csv.DictReader(f):
        ts = datetime.strptime(row["ts"], "%Y-%m-%d %H:%M:%S")
        key = (row["user"], ts.date().isoformat())
        views[key] = views.get(key, 0) + 1
        if row["page"]:
            pages.setdefault(key, set()).add(row["page"])

os.makedirs("output", exist_ok=True)
with open("output/result.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["user", "day", "views", "pages"])
    for (user, day), n in views.items():
        w.writerow([user, day, n, len(pages.get((user, day), ()))])
