"""Network analytics: consultations and referrals in aggregate, for administrators."""
