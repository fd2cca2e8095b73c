// PostGraphile 4 serving the views of schema.sql, for bench/run.py: `node server.js` with DATABASE_URL and PORT.
// GET /healthz answers once the schema is introspected; POST /graphql is PostGraphile's own handler.
"use strict";
const http = require("http");
const { postgraphile } = require("postgraphile");

const handler = postgraphile(process.env.DATABASE_URL, "pgl_bench", {
  disableDefaultMutations: true,
  disableQueryLog: true,
  simpleCollections: "both",
  setofFunctionsContainNulls: false,
  retryOnInitFail: false,
  graphiql: false,
  enableQueryBatching: false,
  bodySizeLimit: "1MB",
});

http
  .createServer((req, res) => {
    if (req.url === "/healthz") {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end('{"status":"ok"}');
      return;
    }
    handler(req, res);
  })
  .listen(Number(process.env.PORT), "127.0.0.1");
