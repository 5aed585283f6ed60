"""Live cookie rotation (`erlcookie rotate`).

`plan` is the pure model (phases, per-pair cookie views, the invariant, the steps);
`engine` drives it over an abstract `NodeOps`/`Persister`/`Discovery`; `ops_distribution` is
the implementation over the distribution client; `journal` makes a run resumable;
`persist` stores the cookie where new nodes read it; `discovery` finds the members.
Nothing here imports heavy dependencies at module level.
"""
