using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using SecureComms.Testing;

namespace SecureComms.DevCert.Tests;

[TestClass]
public sealed partial class CheckCommandTests
{
    private static readonly TrustDomain ExampleOrg = TrustDomain.Parse("example.org");
    private static readonly SpiffeId Billing = SpiffeId.Parse("spiffe://example.org/billing");

    [TestMethod]
    public void CleanConfiguration_HasNoFinding_AndExitsZero()
    {
        using var folder = new TemporaryFolder();
        JsonObject settings = CleanSettings(folder);

        DevCertRun run = Check(folder, settings);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.AreEqual(string.Empty, run.Output, run.ToString());
        Assert.Contains("No insecure settings", run.Error);
    }

    [TestMethod]
    [DataRow("TokenValidation:RequireCertificateBinding", "false", "serious SecureComms:TokenValidation:RequireCertificateBinding is false: tokens are not bound to the caller's certificate", 1)]
    [DataRow("TokenValidation:RequireAccessTokenType", "false", "warning SecureComms:TokenValidation:RequireAccessTokenType is false", 0)]
    [DataRow("TokenValidation", "{}", "warning SecureComms:TokenValidation:Authority is not set", 0)]
    [DataRow("TokenValidation:Authority", "\"http://auth.example.org\"", "serious SecureComms:TokenValidation:Authority is plaintext", 1)]
    [DataRow("TokenValidation:Algorithms", "[\"ES256\", \"HS256\"]", "serious SecureComms:TokenValidation:Algorithms:1 is 'HS256'", 1)]
    [DataRow("Authorization:DryRun", "true", "serious SecureComms:Authorization:DryRun is true", 1)]
    [DataRow("Authorization:Rules", "[{\"Name\":\"all\",\"Callers\":[\"spiffe://example.org/*\"],\"Paths\":[\"/*\"]}]", "serious SecureComms:Authorization:Rules:0:Callers:0 'spiffe://example.org/*' with path '/*': rule 'all' allows every caller of spiffe://example.org on every path", 1)]
    [DataRow("Authorization:Rules", "[{\"Callers\":[\"*\"],\"Paths\":[\"/*\"],\"Methods\":[\"GET\"]}]", "serious SecureComms:Authorization:Rules:0:Callers:0 '*' with path '/*'", 1)]
    [DataRow("Authorization:Rules", "[{\"Callers\":[\"spiffe://example.org/*\"],\"Paths\":[\"/*\"],\"Scopes\":[\"admin\"]}]", "warning SecureComms:Authorization:Rules:0:Callers:0", 0)]
    [DataRow("Authorization:Rules", "[{\"Callers\":[\"*\"],\"Paths\":[\"/reports/*\"]}]", "warning SecureComms:Authorization:Rules:0:Callers:0 '*'", 0)]
    [DataRow("Server:PlaintextEndpoints", "{\"health\":{\"Url\":\"http://127.0.0.1:8081\"}}", "warning SecureComms:Server:PlaintextEndpoints:health opens a plaintext listener (http://127.0.0.1:8081)", 0)]
    [DataRow("Server:Urls", "[\"https://0.0.0.0:8443\", \"http://0.0.0.0:8080\"]", "serious SecureComms:Server:Urls:1 is plaintext", 1)]
    [DataRow("Server:ForwardedCertificates", "{\"TrustedProxies\":[\"0.0.0.0/0\"]}", "serious SecureComms:Server:ForwardedCertificates:TrustedProxies:0 is '0.0.0.0/0'", 1)]
    [DataRow("Clients:billing:Token:RequireBoundToken", "false", "serious SecureComms:Clients:billing:Token:RequireBoundToken is false", 1)]
    [DataRow("Clients:billing:BaseAddress", "\"http://billing:8080\"", "serious SecureComms:Clients:billing:BaseAddress is plaintext", 1)]
    [DataRow("Clients:billing:ExpectedServer", "\"*\"", "warning SecureComms:Clients:billing:ExpectedServer is '*'", 0)]
    public void InsecureSetting_IsReported_OnOneLine(string key, string json, string expectedLine, int exitCode)
    {
        using var folder = new TemporaryFolder();
        JsonObject settings = CleanSettings(folder);
        Set(settings, "SecureComms:" + key, JsonNode.Parse(json)!);

        DevCertRun run = Check(folder, settings);

        Assert.AreEqual(exitCode, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.OutputLines, run.ToString());
        Assert.StartsWith(expectedLine, run.OutputLines[0], run.ToString());
    }

    /// <summary>
    /// The gRPC settings: rule paths naming gRPC methods (<c>/package.Service/Method</c>, POST), the listeners gRPC can
    /// reach (HTTP/2), and the addresses a gRPC client is made from. <paramref name="overlay"/> maps configuration keys
    /// to the JSON set on top of the clean configuration; <paramref name="expected"/> are the lines, in order.
    /// </summary>
    [TestMethod]
    [DataRow("""{ "SecureComms:Authorization:Rules": [ { "Name": "g", "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/billing.v1.Invoices" ], "Methods": [ "POST" ] } ] }""", 0,
        new[] { "warning SecureComms:Authorization:Rules:0:Paths:0 '/billing.v1.Invoices' names the gRPC service 'billing.v1.Invoices' without a method, so it matches no call" }, DisplayName = "a service without a method")]
    [DataRow("""{ "SecureComms:Authorization:Rules": [ { "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/billing.v1.Invoices/" ] } ] }""", 0,
        new[] { "warning SecureComms:Authorization:Rules:0:Paths:0 '/billing.v1.Invoices/' names the gRPC service 'billing.v1.Invoices' without a method" }, DisplayName = "a service and a trailing slash")]
    [DataRow("""{ "SecureComms:Authorization:Rules": [ { "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/billing.v1.Invoices/Get/all" ] } ] }""", 0,
        new[] { "warning SecureComms:Authorization:Rules:0:Paths:0 '/billing.v1.Invoices/Get/all' has more segments than a gRPC method path, so it matches no call to 'billing.v1.Invoices'" }, DisplayName = "an extra segment")]
    [DataRow("""{ "SecureComms:Authorization:Rules": [ { "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/billing.v1.*/Get" ] } ] }""", 1,
        new[] { "serious SecureComms:Authorization:Rules:0:Paths:0 '/billing.v1.*/Get' has '*' inside a segment, which start-up refuses" }, DisplayName = "a wildcard inside a service name")]
    [DataRow("""{ "SecureComms:Authorization:Rules": [ { "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/billing.v1.Invoices/Get*" ] } ] }""", 1,
        new[] { "serious SecureComms:Authorization:Rules:0:Paths:0 '/billing.v1.Invoices/Get*' has '*' inside a segment, which start-up refuses ('*' stands for one whole segment): a gRPC call's path is '/package.Service/Method', and '/billing.v1.Invoices/*' opens every method" }, DisplayName = "a wildcard inside a method name")]
    [DataRow("""{ "SecureComms:Authorization:Rules": [ { "Name": "reads", "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/billing.v1.Invoices/Get" ], "Methods": [ "GET" ] } ] }""", 0,
        new[] { "warning SecureComms:Authorization:Rules:0:Methods 'GET' leaves out POST: gRPC calls are HTTP/2 POSTs, so rule 'reads' never matches a call to '/billing.v1.Invoices/Get'" }, DisplayName = "a gRPC path under GET only")]
    [DataRow("""{ "SecureComms:Authorization:Rules": [ { "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/billing.v1.Invoices/Get", "/billing.v1.Invoices/Get/", "/billing.v1.Ledger/*", "/grpc.health.v1.Health/Check" ], "Methods": [ "post" ] }, { "Callers": [ "spiffe://example.org/web" ], "Paths": [ "/favicon.ico", "/invoices/*" ], "Methods": [ "GET" ] } ] }""", 0,
        new string[0], DisplayName = "well-formed gRPC method paths, and HTTP paths beside them: nothing")]
    [DataRow("""{ "SecureComms:Authorization:Rules": [ { "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/billing.v1.Invoices/*" ] } ], "SecureComms:Server:PlaintextEndpoints": { "health": { "Url": "http://127.0.0.1:8081" } } }""", 0,
        new[] { "warning SecureComms:Server:PlaintextEndpoints:health opens a plaintext listener", "warning SecureComms:Server:PlaintextEndpoints:health is HTTP/1.1 only (SecureComms opens plaintext listeners without HTTP/2), so the gRPC methods the rules name cannot be called there" }, DisplayName = "gRPC and a plaintext endpoint")]
    [DataRow("""{ "SecureComms:Authorization:Rules": [ { "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/billing.v1.Invoices/*" ] } ], "Kestrel:Endpoints": { "internal": { "Url": "https://0.0.0.0:9443", "Protocols": "Http1" } } }""", 0,
        new[] { "warning Kestrel:Endpoints:internal:Protocols is 'Http1': without HTTP/2 the gRPC methods the rules name fail on this listener" }, DisplayName = "gRPC and a Kestrel endpoint without HTTP/2")]
    [DataRow("""{ "SecureComms:Authorization:Rules": [ { "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/billing.v1.Invoices/*" ] } ], "Kestrel:EndpointDefaults:Protocols": "Http1", "Kestrel:Endpoints": { "internal": { "Url": "https://0.0.0.0:9443" }, "h2": { "Url": "https://0.0.0.0:9444", "Protocols": "Http1AndHttp2" } } }""", 0,
        new[] { "info Kestrel:EndpointDefaults:Protocols 'Http1' does not reach SecureComms' listeners (SecureComms:Server:Urls are always HTTP/1.1 and HTTP/2 over TLS", "warning Kestrel:Endpoints:internal takes Protocols 'Http1' from Kestrel:EndpointDefaults:Protocols: without HTTP/2 the gRPC methods" }, DisplayName = "gRPC and Kestrel endpoint defaults without HTTP/2")]
    [DataRow("""{ "Kestrel:EndpointDefaults:Protocols": "Http1", "Kestrel:Endpoints": { "internal": { "Url": "https://0.0.0.0:9443", "Protocols": "Http1" } } }""", 0,
        new string[0], DisplayName = "HTTP/1.1-only Kestrel settings without gRPC rules: nothing")]
    [DataRow("""{ "SecureComms:Clients:billing:BaseAddress": "dns:///billing:8443" }""", 1,
        new[] { "serious SecureComms:Clients:billing:BaseAddress 'dns:///billing:8443' is not an absolute https:// address, which a SecureComms client (a gRPC one too) needs (start-up refuses it)." }, DisplayName = "a gRPC load-balancing address")]
    [DataRow("""{ "SecureComms:Clients:billing:BaseAddress": "https://gateway:8443/billing/" }""", 0,
        new[] { "info SecureComms:Clients:billing:BaseAddress has a path ('/billing/'): a gRPC client made from this client (AddGrpcClient) drops it and calls '/package.Service/Method' at the root of https://gateway:8443" }, DisplayName = "a client address with a path")]
    public void GrpcSettings_AreChecked(string overlay, int exitCode, string[] expected)
    {
        using var folder = new TemporaryFolder();
        JsonObject settings = CleanSettings(folder);
        foreach ((string key, JsonNode? value) in JsonNode.Parse(overlay)!.AsObject())
        {
            Set(settings, key, value!.DeepClone());
        }

        DevCertRun run = Check(folder, settings);

        Assert.AreEqual(exitCode, run.ExitCode, run.ToString());
        Assert.HasCount(expected.Length, run.OutputLines, run.ToString());
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.StartsWith(expected[i], run.OutputLines[i], run.ToString());
        }
    }

    [TestMethod]
    [DataRow("Clients:billing:Token", "internal-ca.pem", "info SecureComms:Clients:billing:Token:ServerCaBundlePath 'internal-ca.pem': the authorization server is trusted if its certificate chains to 'O=SecureComms Development (not for production), CN=SecureComms Development Root CA' until ", 0, DisplayName = "outbound, a CA file: reported")]
    [DataRow("TokenValidation", "internal-ca.pem", "info SecureComms:TokenValidation:ServerCaBundlePath 'internal-ca.pem': the authorization server is trusted if its certificate chains to", 0, DisplayName = "inbound, a CA file: reported")]
    [DataRow("Clients:billing:Token", "missing.pem", "serious SecureComms:Clients:billing:Token:ServerCaBundlePath '", 1, DisplayName = "a missing file")]
    [DataRow("Clients:billing:Token", "corrupt.pem", "serious SecureComms:Clients:billing:Token:ServerCaBundlePath '", 1, DisplayName = "a corrupt file")]
    [DataRow("TokenValidation", "empty.pem", "serious SecureComms:TokenValidation:ServerCaBundlePath '", 1, DisplayName = "a file without a certificate")]
    public void ServerCaBundlePath_IsReadAndReported(string section, string file, string expectedLine, int exitCode)
    {
        using var folder = new TemporaryFolder();
        JsonObject settings = CleanSettings(folder);
        using (var internalCa = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("internal.test")))
        {
            internalCa.WriteTrustBundlePem(folder.File("internal-ca.pem"));
        }

        File.WriteAllText(folder.File("corrupt.pem"), "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n");
        File.WriteAllText(folder.File("empty.pem"), "no certificate here\n");
        Set(settings, $"SecureComms:{section}:ServerCaBundlePath", JsonValue.Create(file));

        DevCertRun run = Check(folder, settings);

        Assert.AreEqual(exitCode, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.OutputLines, run.ToString());
        Assert.StartsWith(expectedLine, run.OutputLines[0], run.ToString());
    }

    [TestMethod]
    public void ServerCaBundlePath_WithExpectedServer_IsSerious()
    {
        using var folder = new TemporaryFolder();
        JsonObject settings = CleanSettings(folder);
        using (var internalCa = DevelopmentCertificateAuthority.Create(TrustDomain.Parse("internal.test")))
        {
            internalCa.WriteTrustBundlePem(folder.File("internal-ca.pem"));
        }

        Set(settings, "SecureComms:Clients:billing:Token:ServerCaBundlePath", JsonValue.Create("internal-ca.pem"));
        Set(settings, "SecureComms:Clients:billing:Token:ExpectedServer", JsonValue.Create("spiffe://example.org/auth"));

        DevCertRun run = Check(folder, settings);

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains("serious SecureComms:Clients:billing:Token:ServerCaBundlePath is set together with ExpectedServer", run.Output);
    }

    [TestMethod]
    public void ProxyTrustedByAddress_OnAPlaintextListener_IsReported_NextToTheListener()
    {
        using var folder = new TemporaryFolder();
        JsonObject settings = CleanSettings(folder);
        Set(settings, "SecureComms:Server:PlaintextEndpoints", JsonNode.Parse("""{ "proxy": { "Url": "http://127.0.0.1:8081" } }""")!);
        Set(settings, "SecureComms:Server:ForwardedCertificates", JsonNode.Parse("""{ "TrustedProxies": [ "spiffe://example.org/ingress", "127.0.0.1" ] }""")!);

        DevCertRun run = Check(folder, settings);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.HasCount(2, run.OutputLines, run.ToString());
        Assert.StartsWith("warning SecureComms:Server:PlaintextEndpoints:proxy opens a plaintext listener", run.OutputLines[0], run.ToString());
        Assert.StartsWith("warning SecureComms:Server:ForwardedCertificates:TrustedProxies:1 trusts '127.0.0.1' by address on the plaintext listener", run.OutputLines[1], run.ToString());
    }

    [TestMethod]
    public void DenyAndAuditRules_AreNotReported_HoweverBroad()
    {
        using var folder = new TemporaryFolder();
        JsonObject settings = CleanSettings(folder);
        Set(settings, "SecureComms:Authorization:Rules", JsonNode.Parse("""
            [ { "Name": "rule-a", "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/invoices/*" ] },
              { "Action": "Deny", "Callers": [ "*" ], "Paths": [ "/*" ] },
              { "Action": "Audit", "Callers": [ "spiffe://example.org/*" ], "Paths": [ "/*" ] } ]
            """)!);

        DevCertRun run = Check(folder, settings);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.AreEqual(string.Empty, run.Output, run.ToString());
    }

    [TestMethod]
    public void EveryInsecureSettingAtOnce_IsOneLineEach()
    {
        using var folder = new TemporaryFolder();
        JsonObject settings = CleanSettings(folder);
        Set(settings, "SecureComms:TokenValidation:RequireCertificateBinding", false);
        Set(settings, "SecureComms:TokenValidation:RequireAccessTokenType", false);
        Set(settings, "SecureComms:Authorization:DryRun", true);
        Set(settings, "SecureComms:Authorization:Rules", JsonNode.Parse("""[ { "Callers": [ "spiffe://example.org/*" ], "Paths": [ "/*" ] } ]""")!);
        Set(settings, "SecureComms:Server:PlaintextEndpoints:health:Url", "http://127.0.0.1:8081");
        Set(settings, "SecureComms:Clients:billing:Token:RequireBoundToken", false);

        DevCertRun run = Check(folder, settings);

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.HasCount(6, run.OutputLines, run.ToString());
        foreach (string line in run.OutputLines)
        {
            Assert.MatchesRegex(FindingLine(), line);
        }

        Assert.Contains("4 serious, 2 warning(s)", run.Error);
    }

    [TestMethod]
    public void ExpiredCertificate_IsSerious()
    {
        using var folder = new TemporaryFolder();
        JsonObject settings = CleanSettings(folder);
        using (var authority = DevelopmentCertificateAuthority.Create(ExampleOrg))
        {
            authority.WriteTrustBundlePem(folder.File("bundle.pem"));
            using X509Certificate2 expired = authority.IssueDefective(Billing, SvidDefect.Expired);
            DevelopmentCertificateAuthority.WriteCertificatePem(expired, null, folder.File("svid.pem"), folder.File("svid.key"));
        }

        DevCertRun run = Check(folder, settings);

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.OutputLines, run.ToString());
        Assert.StartsWith("serious SecureComms:Certificate:CertificatePath 'svid.pem' expired at", run.OutputLines[0]);
    }

    [TestMethod]
    public void LongLivedCertificate_IsAWarning()
    {
        using var folder = new TemporaryFolder();
        JsonObject settings = CleanSettings(folder);
        using (var authority = DevelopmentCertificateAuthority.Create(ExampleOrg, lifetime: TimeSpan.FromDays(365)))
        {
            authority.WriteTrustBundlePem(folder.File("bundle.pem"));
            DevelopmentCertificateAuthority.WriteCertificatePem(authority.IssueSvid(Billing, TimeSpan.FromDays(90)), folder.File("svid.pem"), folder.File("svid.key"));
        }

        DevCertRun run = Check(folder, settings);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.OutputLines, run.ToString());
        Assert.StartsWith("warning SecureComms:Certificate:CertificatePath 'svid.pem' is valid for 90d", run.OutputLines[0]);
        Assert.Contains("longer than 7d", run.OutputLines[0]);

        DevCertRun relaxed = DevCertRun.Of("check", folder.File("appsettings.json"), "--max-lifetime", "100d");
        Assert.AreEqual(string.Empty, relaxed.Output, relaxed.ToString());
    }

    [TestMethod]
    public void CertificateNotTrustedByTheConfiguredBundle_IsSerious()
    {
        using var folder = new TemporaryFolder();
        JsonObject settings = CleanSettings(folder);
        using (var other = DevelopmentCertificateAuthority.Create(ExampleOrg))
        {
            other.WriteTrustBundlePem(folder.File("bundle.pem")); // the bundle now speaks for another CA
        }

        DevCertRun run = Check(folder, settings);

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.OutputLines, run.ToString());
        Assert.StartsWith("serious SecureComms:Certificate:CertificatePath 'svid.pem' is not a valid X.509-SVID as a server: UntrustedRoot", run.OutputLines[0]);
    }

    [TestMethod]
    public void MissingCertificateFile_IsSerious()
    {
        using var folder = new TemporaryFolder();
        JsonObject settings = CleanSettings(folder);
        File.Delete(folder.File("svid.pem"));

        DevCertRun run = Check(folder, settings);

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.StartsWith("serious SecureComms:Certificate:CertificatePath", run.OutputLines[0]);
        Assert.Contains("cannot be read", run.OutputLines[0]);
    }

    [TestMethod]
    public void KeyReadableByOthers_IsAWarning()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Inconclusive("Unix file modes only.");
            return;
        }

        using var folder = new TemporaryFolder();
        JsonObject settings = CleanSettings(folder);
        File.SetUnixFileMode(folder.File("svid.key"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead);

        DevCertRun run = Check(folder, settings);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.HasCount(1, run.OutputLines, run.ToString());
        Assert.StartsWith("warning SecureComms:Certificate:KeyPath 'svid.key' has mode 0644", run.OutputLines[0]);
    }

    [TestMethod]
    public void MissingSecureCommsSection_IsSerious()
    {
        using var folder = new TemporaryFolder();

        DevCertRun run = Check(folder, new JsonObject { ["Logging"] = new JsonObject() });

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.StartsWith("serious SecureComms is missing", run.OutputLines[0]);
    }

    [TestMethod]
    public void MissingOrInvalidFile_FailsWithAMessage()
    {
        using var folder = new TemporaryFolder();
        File.WriteAllText(folder.File("broken.json"), "{ \"SecureComms\": ");

        DevCertRun missing = DevCertRun.Of("check", folder.File("nope.json"));
        DevCertRun broken = DevCertRun.Of("check", folder.File("broken.json"));

        Assert.AreEqual(1, missing.ExitCode, missing.ToString());
        Assert.Contains("cannot read", missing.Error);
        Assert.AreEqual(1, broken.ExitCode, broken.ToString());
        Assert.Contains("cannot read", broken.Error);
    }

    /// <summary>A configuration the checker must find nothing wrong with: files issued by a dev CA beside it.</summary>
    private static JsonObject CleanSettings(TemporaryFolder folder)
    {
        using (var authority = DevelopmentCertificateAuthority.Create(ExampleOrg))
        {
            authority.WriteTrustBundlePem(folder.File("bundle.pem"));
            DevelopmentCertificateAuthority.WriteCertificatePem(authority.IssueSvid(Billing, TimeSpan.FromHours(24)), folder.File("svid.pem"), folder.File("svid.key"));
        }

        return (JsonObject)JsonNode.Parse("""
            {
              "SecureComms": {
                "Certificate": { "CertificatePath": "svid.pem", "KeyPath": "svid.key" },
                "TrustBundles": { "example.org": { "Path": "bundle.pem" } },
                "Server": { "Urls": [ "https://0.0.0.0:8443" ] },
                "TokenValidation": { "Authority": "https://auth.example.org", "Audience": "https://billing.example.org" },
                "Authorization": {
                  "Rules": [ { "Name": "orders-reads-invoices", "Callers": [ "spiffe://example.org/orders" ], "Paths": [ "/invoices/*" ], "Methods": [ "GET" ] } ]
                },
                "Clients": {
                  "ledger": { "BaseAddress": "https://ledger:8443", "ExpectedServer": "spiffe://example.org/ledger" },
                  "billing": {
                    "BaseAddress": "https://billing:8443",
                    "ExpectedServer": "spiffe://example.org/billing",
                    "Token": { "Authority": "https://auth.example.org", "ClientId": "orders" }
                  }
                }
              }
            }
            """)!;
    }

    private static DevCertRun Check(TemporaryFolder folder, JsonObject settings)
    {
        string path = folder.File("appsettings.json");
        File.WriteAllText(path, settings.ToJsonString());

        // Run from another working directory: relative paths must resolve against the appsettings folder.
        return DevCertRun.Of("check", path);
    }

    private static void Set(JsonObject root, string key, JsonNode value)
    {
        string[] parts = key.Split(':');
        JsonObject current = root;
        for (int i = 0; i < parts.Length - 1; i++)
        {
            if (current[parts[i]] is not JsonObject next)
            {
                next = new JsonObject();
                current[parts[i]] = next;
            }

            current = next;
        }

        current[parts[^1]] = value;
    }

    [GeneratedRegex(@"^(serious|warning|info) SecureComms(:\S+)? \S")]
    private static partial Regex FindingLine();
}
