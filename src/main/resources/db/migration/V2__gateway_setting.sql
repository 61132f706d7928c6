-- Settings every replica must agree on, such as a check value of the master key (see MasterKey / KeyVault):
-- a replica started with a different security.masterKey is refused at start instead of failing at its first token.
CREATE TABLE gateway_setting (
    name       text PRIMARY KEY,
    value      text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
