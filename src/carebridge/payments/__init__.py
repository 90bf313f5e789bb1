"""Money for the internet hospital: prices, insurance split, charges, payments, refunds, a ledger."""
