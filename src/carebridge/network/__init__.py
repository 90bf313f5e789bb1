"""The tiered network: facilities, hub links, departments, services offered, practitioners, rosters."""
