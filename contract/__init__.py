"""The published Redis contract in one pure home (docs/redis-contract.md).

``contract.names`` spells every channel, stream and key; ``contract.control`` the reload
message on ``{prefix}:control``; ``contract.fleet`` the fleet's records and keys;
``contract.messages`` the field names of the published messages. Every app and command imports
names from here and spells none itself. Pure: no Django, no Redis, no app imports.
"""
