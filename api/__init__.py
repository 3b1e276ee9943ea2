"""The GraphQL API: strawberry schema on starlette, thin resolvers, auth, subscriptions."""
