"""The record in the standards sponsors load: CDISC ODM 1.3.2, SDTM datasets, Define-XML 2.1."""
