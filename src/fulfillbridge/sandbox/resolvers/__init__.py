"""GraphQL resolvers of the sandbox, one module per area; each registers on import
(see ``sandbox.registry``). The engine imports every module of this package."""
