"""Threat-information sharing: the STIX 2.1 store and who may see each object (release control)."""
