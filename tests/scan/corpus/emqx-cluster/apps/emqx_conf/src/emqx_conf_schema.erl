-module(emqx_conf_schema).

-export([fields/1]).

fields("node") ->
    [
        {"name",
            sc(string(), #{
                default => "emqx@127.0.0.1",
                desc => "Unique name of this node."
            })},
        {"cookie",
            sc(string(), #{
                mapping => "vm_args.-setcookie",
                default => "shared_schema_cookie",
                sensitive => true,
                desc => "Secret cookie shared by the nodes of one cluster."
            })},
        {"data_dir",
            sc(string(), #{mapping => "emqx.data_dir", required => true})}
    ].

sc(Type, Meta) -> {Type, Meta}.
