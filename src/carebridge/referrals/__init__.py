"""Two-way referral: up to a higher tier with a coded reason, down with a plan for the local doctor."""
