"""One layer for findings: severities, the rule registry, the finding type, JSON and SARIF."""
