// Mocha's describe/it globals for the tests only: tsconfig.json lists just Node's types, so the
// program type-checks under `pulumi up` without the development dependencies installed.
/// <reference types="mocha" />
