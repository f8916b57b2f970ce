"""Stage 2, serving a cell: the scenario host process (`host`: the API apps and probe pages on
loopback ports, started by `servers`), the server-side ledger of what arrived (`ledger`,
`api_app`), nginx in front (`nginx`), the forward proxy remote engines reach them through
(`forward_proxy`), one venv per Starlette release (`starlette_envs`), the built probe page
(`probe_page`) and the reaper that ends every process started here (`reaper`).
"""
