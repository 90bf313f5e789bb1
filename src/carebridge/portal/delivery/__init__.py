"""Medicine delivery: a dispensable source (a prescription ...) picked up at the facility pharmacy or
delivered to an address, paid through payments, moved by the pharmacy and the courier's signed webhook."""
