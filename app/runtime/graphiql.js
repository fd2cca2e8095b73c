// GraphiQL's start, inlined in graphiql.html by app/runtime/graphiql.py (its hash is in the page's CSP).
(function () {
  const EXAMPLE_QUERY = ${example_query};

  // A token handed over in the fragment (/graphql#token=<jwt>) moves into the headers; the fragment
  // is cleared so the address bar, history and bookmarks do not keep it.
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const token = fragment.get("token");
  if (window.location.hash) {
    history.replaceState(null, "", window.location.pathname + window.location.search);
  }
  const authorization = token ? { Authorization: "Bearer " + token } : {};

  const endpoint = window.location.origin + window.location.pathname;
  const fetcher = GraphiQL.createFetcher({
    url: endpoint,
    subscriptionUrl: endpoint.replace(/^http/, "ws"),
    // the editor's headers are merged into connection_init too; this covers a token without them
    wsConnectionParams: authorization,
  });

  const props = {
    fetcher: fetcher,
    defaultQuery: EXAMPLE_QUERY,
    plugins: [GraphiQLPluginExplorer.explorerPlugin()],
    defaultEditorToolsVisibility: true,
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
    inputValueDeprecation: true,
  };
  if (token) {
    props.headers = JSON.stringify(authorization, null, 2);
  }
  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(GraphiQL, props));
})();
