"""Live cookie rotation (`erlcookie rotate`).

`plan` is the pure model (phases, per-pair cookie views, the invariant, the steps);
`interfaces` declares what the engine needs (`NodeOps`, `Persister`, `Discovery`,
`Restarter`, `NodeError`); `engine` drives the plan over them; `ops_distribution` implements
`NodeOps` over the distribution client; `settings` is the typed, journal-able configuration
and `run` builds the pieces from it; `journal` makes a run resumable;
`persist` stores the cookie where new nodes read it; `discovery` finds the members.
Nothing here imports heavy dependencies at module level.
"""
