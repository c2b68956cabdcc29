module vaporform/sandbox-agent

go 1.19
