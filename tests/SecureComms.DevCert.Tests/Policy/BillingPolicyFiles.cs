namespace SecureComms.DevCert.Tests;

/// <summary>
/// A service's configuration as two layered files in a temporary folder: appsettings.json (listener, dry run) and
/// securecomms.policy.json (the rules of billing), named on the command line as one comma-separated value.
/// </summary>
internal sealed class BillingPolicyFiles : IDisposable
{
    /// <summary>The rules: every dimension (caller forms, methods, path forms, scopes, claims, end user), Deny and Audit.</summary>
    public const string Rules = """
        [
          { "Name": "orders-reads-invoices", "Callers": [ "spiffe://example.org/orders" ], "Methods": [ "GET" ], "Paths": [ "/invoices/*" ], "Scopes": [ "invoices.read" ] },
          { "Name": "orders-writes-invoices", "Callers": [ "spiffe://example.org/orders" ], "Methods": [ "POST" ], "Paths": [ "/invoices" ], "Scopes": [ "invoices.write" ] },
          { "Name": "orders-creates-charges", "Callers": [ "spiffe://example.org/orders" ], "Methods": [ "POST" ], "Paths": [ "/charges" ] },
          { "Name": "team-reads-reports", "Callers": [ "spiffe://example.org/team/*" ], "Methods": [ "GET" ], "Paths": [ "/reports/*" ], "Claims": { "tenant": "acme" } },
          { "Name": "clerks-refund", "Callers": [ "spiffe://example.org/gateway" ], "Methods": [ "POST" ], "Paths": [ "/refunds/*" ], "RequireUser": true, "UserClaims": { "role": "clerk" } },
          { "Name": "anyone-reads-status", "Callers": [ "spiffe://example.org/*" ], "Methods": [ "GET" ], "Paths": [ "/status", "/tenants/*/status" ] },
          { "Name": "never-admin", "Action": "Deny", "Callers": [ "*" ], "Paths": [ "/admin/*" ] },
          { "Name": "watch-charges", "Action": "Audit", "Callers": [ "*" ], "Paths": [ "/charges" ] }
        ]
        """;

    private readonly TemporaryFolder _folder = new();

    public BillingPolicyFiles(bool dryRun = false, string rules = Rules)
    {
        File.WriteAllText(_folder.File("appsettings.json"), $$"""
            // billing's settings; the rules are in their own file, layered after this one.
            {
              "SecureComms": {
                "Server": { "Urls": [ "https://127.0.0.1:0" ] },
                "Authorization": { "DryRun": {{(dryRun ? "true" : "false")}} }
              }
            }
            """);
        File.WriteAllText(_folder.File("securecomms.policy.json"), $$"""{ "SecureComms": { "Authorization": { "Rules": {{rules}} } } }""");
    }

    /// <summary>The value of <c>--config</c>.</summary>
    public string Config => $"{_folder.File("appsettings.json")},{_folder.File("securecomms.policy.json")}";

    /// <summary>The config files, in order.</summary>
    public string[] Files => [_folder.File("appsettings.json"), _folder.File("securecomms.policy.json")];

    /// <summary>The path of a file next to the configuration.</summary>
    public string PathOf(string name) => _folder.File(name);

    /// <summary>Writes a file next to the configuration and returns its path.</summary>
    public string Write(string name, string text)
    {
        File.WriteAllText(_folder.File(name), text);
        return _folder.File(name);
    }

    public void Dispose() => _folder.Dispose();
}
