import type { CodegenConfig } from "@graphql-codegen/cli";

// Types for every operation in src/, generated from the server's exported schema, so the
// UI fails to compile when it drifts from the API.
const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/**/*.ts", "src/**/*.vue"],
  ignoreNoDocuments: true,
  generates: {
    "src/gql/": {
      preset: "client",
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: "string", Decimal: "string", JSON: "unknown", ID: "string" },
      },
    },
  },
};
export default config;
