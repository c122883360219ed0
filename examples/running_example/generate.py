"""Deterministic synthetic data for the running example: ``customers`` and ``mails``.

All data is synthetic: e-mail addresses are ``customer<N>@example.com``, card numbers are
Luhn-valid numbers from the 4000 test range. The same seed and sizes give byte-identical
files. Some customers (``leaked_customers`` of them, all clients of ``LEAKY_BANKS``) get a
card number in the subject of some of their mails; ``leaks.json`` lists their customer ids
and the affected mail ids (not the numbers).

Run as a script: ``python generate.py OUT_DIR --customers 1000 --mails 10000``.
Texts contain no commas or quotes, so a plain ``split(",")`` parses the CSV files.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

BANKS = ("Northwind Bank", "Contoso Credit", "Fabrikam Savings", "Tailspin Trust",
         "Woodgrove Bank", "Litware Finance")
LEAKY_BANKS = ("Northwind Bank", "Contoso Credit")
COUNTRIES = ("UK", "DE", "FR", "US", "ES", "IT")
LEVELS = ("basic", "premium")
SUBJECTS = (
    "Question about my statement", "Card blocked again", "Thank you for the quick help",
    "Loan application status", "Terrible service at the branch", "Great new app update",
    "Fees are too high", "Address change request", "Happy with my savings account",
    "Problem with online banking", "Wonderful advice from my adviser", "Overdraft complaint",
)
OPENERS = ("Hello team", "Dear support", "Hi", "Good morning", "To whom it may concern")
BODIES = (
    "I am very unhappy with the hidden fees on my account",
    "thanks a lot for solving my problem so fast",
    "the transfer failed twice and nobody answers my calls",
    "I love the new savings feature it is excellent",
    "please update my postal address in your records",
    "this is the worst experience I ever had with a bank",
    "my card was declined at the shop which was embarrassing",
    "the adviser was friendly and the meeting was useful",
    "I would like to know the status of my loan request",
    "your app keeps crashing and I am angry about it",
)
CLOSERS = ("Regards", "Best wishes", "Thanks", "Cheers", "Sincerely")
#: Per-mail details, so subjects and bodies are mostly distinct, as real mails are.
TOPICS = ("transfer", "card payment", "standing order", "direct debit", "cash withdrawal",
          "loan instalment", "account statement", "savings deposit")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


def _luhn_complete(prefix15: str) -> str:
    digits = [int(d) for d in prefix15]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return prefix15 + str((10 - total % 10) % 10)


def card_number(rng: np.random.RandomState) -> str:
    body = "4000" + "".join(str(d) for d in rng.randint(0, 10, size=11))
    digits = _luhn_complete(body)
    return " ".join(digits[i:i + 4] for i in range(0, 16, 4))


def generate(n_customers: int, n_mails: int, seed: int = 42, leaked_customers: int = 5
             ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, list[int]]]:
    rng = np.random.RandomState(seed)
    ids = np.arange(1, n_customers + 1)
    customers = pd.DataFrame({
        "customer_id": ids,
        "email": [f"customer{i}@example.com" for i in ids],
        "bank": np.array(BANKS)[rng.randint(0, len(BANKS), n_customers)],
        "country": np.array(COUNTRIES)[rng.randint(0, len(COUNTRIES), n_customers)],
        "level": np.array(LEVELS)[(rng.rand(n_customers) < 0.3).astype(int)],
    })
    # 3% of mails come from addresses that are no customer (unmatched join keys).
    sender = rng.randint(1, n_customers + 1, n_mails)
    stranger = rng.rand(n_mails) < 0.03
    emails = np.where(stranger, np.char.add("stranger", sender.astype(str)),
                      np.char.add("customer", sender.astype(str)))
    emails = np.char.add(emails, "@example.com")
    days = rng.randint(0, 4 * 365, n_mails)
    dates = (pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D")).strftime("%Y-%m-%d")
    subjects = np.array(SUBJECTS, dtype=object)[rng.randint(0, len(SUBJECTS), n_mails)]
    texts = (np.array(OPENERS, dtype=object)[rng.randint(0, len(OPENERS), n_mails)] + " "
             + np.array(BODIES, dtype=object)[rng.randint(0, len(BODIES), n_mails)] + " "
             + np.array(CLOSERS, dtype=object)[rng.randint(0, len(CLOSERS), n_mails)])
    mails = pd.DataFrame({"mail_id": np.arange(1, n_mails + 1), "email": emails,
                          "date": dates, "mail_subject": subjects, "mail_text": texts})
    # The incident: card numbers in subjects of some mails of customers of the leaky banks.
    candidates = customers.loc[customers["bank"].isin(LEAKY_BANKS), "customer_id"].to_numpy()
    chosen = sorted(rng.choice(candidates, size=min(leaked_customers, len(candidates)),
                               replace=False).tolist())
    leaked_mails: list[int] = []
    chosen_emails = {f"customer{c}@example.com" for c in chosen}
    for idx in np.flatnonzero(mails["email"].isin(chosen_emails).to_numpy()):
        if rng.rand() < 0.6 or not leaked_mails:
            mails.at[idx, "mail_subject"] = f"Card {card_number(rng)} blocked"
            leaked_mails.append(int(mails.at[idx, "mail_id"]))
    _add_details(mails, np.random.RandomState(seed + 1))
    leaks = {"customer_ids": [int(c) for c in chosen], "mail_ids": leaked_mails}
    return customers, mails, leaks


def _add_details(mails: pd.DataFrame, rng: np.random.RandomState) -> None:
    """A case reference in every subject and a sentence about one transaction in every body.

    Drawn from a second random stream, so ids, dates, senders and the incident are the same
    as without details.
    """
    n = len(mails)
    refs = rng.randint(100000, 1000000, n).astype(str)
    mails["mail_subject"] = mails["mail_subject"] + " (case " + refs + ")"
    amounts = rng.randint(5, 5000, n).astype(str)
    topics = np.array(TOPICS, dtype=object)[rng.randint(0, len(TOPICS), n)]
    months = np.array(MONTHS, dtype=object)[rng.randint(0, len(MONTHS), n)]
    days = rng.randint(1, 29, n).astype(str)
    mails["mail_text"] = (mails["mail_text"] + " PS it is about the " + topics + " of "
                          + amounts + " euros on " + months + " " + days)


def write(out_dir: str | Path, n_customers: int, n_mails: int, seed: int = 42,
          leaked_customers: int = 5) -> dict[str, str]:
    """Write ``customers.csv``, ``mails.csv`` and ``leaks.json``; return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    customers, mails, leaks = generate(n_customers, n_mails, seed, leaked_customers)
    paths = {"customers": out / "customers.csv", "mails": out / "mails.csv",
             "leaks": out / "leaks.json"}
    customers.to_csv(paths["customers"], index=False)
    mails.to_csv(paths["mails"], index=False)
    paths["leaks"].write_text(json.dumps(leaks, indent=2))
    return {k: str(v) for k, v in paths.items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir")
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--mails", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(json.dumps(write(args.out_dir, args.customers, args.mails, args.seed), indent=2))
