namespace SecureComms.DevCert.Tests;

[TestClass]
public sealed class PolicyGraphCommandTests
{
    private const string Orders = "spiffe://example.org/orders";
    private const string Analytics = "spiffe://example.org/analytics";
    private const string Billing = "spiffe://example.org/billing";

    private static string OrdersConfig => Repository.File("samples/standalone/SecureComms.Samples.Orders/appsettings.json");

    private static string BillingConfig => Repository.File("samples/standalone/SecureComms.Samples.Billing/appsettings.json");

    private static string AnalyticsConfig => Repository.File("samples/standalone/SecureComms.Samples.Analytics/appsettings.json");

    /// <summary>
    /// The standalone samples: the frontend may call orders, orders may call billing, and analytics has a billing
    /// client although billing's policy allows it nothing (billing's ID is inferred from those clients).
    /// </summary>
    [TestMethod]
    public void StandaloneSamples_Dot_ShowsWhoMayCallWhom_AndTheClientNoRuleAllows()
    {
        DevCertRun run = Graph("dot", "--config", $"{Orders}={OrdersConfig}", "--config", BillingConfig, "--config", $"{Analytics}={AnalyticsConfig}");

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        string[] edges = [.. run.OutputLines.Where(l => l.Contains(" -> ", StringComparison.Ordinal))];
        CollectionAssert.AreEquivalent(
            new[]
            {
                "\"spiffe://example.org/frontend\" -> \"spiffe://example.org/analytics\" [label=\"GET /report\"];",
                "\"spiffe://example.org/orders\" -> \"spiffe://example.org/billing\" [label=\"GET /invoices [invoices.read]\"];",
                "\"spiffe://example.org/frontend\" -> \"spiffe://example.org/orders\" [label=\"GET /orders/*\"];",
                "\"spiffe://example.org/analytics\" -> \"spiffe://example.org/billing\" [label=\"client billing\\nproblem: no rule allows this caller\", style=dashed, color=\"#e37400\", fontcolor=\"#e37400\"];",
                "\"spiffe://example.org/orders\" -> \"spiffe://example.org/billing\" [label=\"client billing\", style=dashed, color=\"#5f6368\", fontcolor=\"#5f6368\"];",
            },
            edges,
            run.ToString());
        Assert.Contains($"problem: {Analytics}'s client 'billing' calls {Billing}, whose policy allows {Analytics} nothing.", run.Error);

        Graphviz.RequireOrSkip();
        (int exitCode, string svg, string error) = Graphviz.RenderSvg(run.Output);
        Assert.AreEqual(0, exitCode, error);
        Assert.Contains("<svg", svg);
    }

    [TestMethod]
    public void StandaloneSamples_Mermaid_IsAFlowchartWithTheSameEdges()
    {
        DevCertRun run = Graph("mermaid", "--config", $"{Orders}={OrdersConfig}", "--config", BillingConfig, "--config", $"{Analytics}={AnalyticsConfig}");

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.AreEqual("flowchart LR", run.OutputLines[0], run.ToString());
        Assert.Contains("example_org_frontend -->|\"GET /orders/*\"| example_org_orders", run.Output);
        Assert.Contains("example_org_orders -->|\"GET /invoices [invoices.read]\"| example_org_billing", run.Output);
        Assert.Contains("example_org_analytics -.->|\"client billing<br/>problem: no rule allows this caller\"| example_org_billing", run.Output);
        Assert.DoesNotContain("example_org_analytics -->", run.Output);
    }

    [TestMethod]
    public void SvgFormat_IsRenderedByDot()
    {
        Graphviz.RequireOrSkip();
        using var folder = new TemporaryFolder();
        string output = folder.File("graph.svg");

        DevCertRun run = Graph("svg", "--config", $"{Orders}={OrdersConfig}", "--config", BillingConfig, "--out", output);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.AreEqual(string.Empty, run.Output, run.ToString());
        string svg = File.ReadAllText(output);
        Assert.Contains("<svg", svg);
        Assert.Contains("spiffe://example.org/billing", svg);
    }

    [TestMethod]
    public void ServiceIdentity_IsReadFromItsCertificate()
    {
        using var folder = new TemporaryFolder();
        SavedCa.CreateIssueAndBundle(folder);
        string config = folder.File("appsettings.json");
        File.WriteAllText(config, """
            { "SecureComms": { "Certificate": { "CertificatePath": "orders.pem", "KeyPath": "orders.key" },
              "Authorization": { "Rules": [ { "Name": "frontend", "Callers": ["spiffe://example.org/frontend"], "Paths": ["/orders/*"] } ] } } }
            """);

        DevCertRun run = Graph("dot", "--config", config);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.Contains("\"spiffe://example.org/frontend\" -> \"spiffe://example.org/orders\" [label=\"any method /orders/*\"];", run.Output);
    }

    [TestMethod]
    public void ServiceWhoseIdentityCannotBeTold_FailsWithHowToNameIt()
    {
        // A copy: next to the sample, ../certs/orders.pem exists once run.sh has issued it.
        using var folder = new TemporaryFolder();
        string orders = folder.File("appsettings.json");
        File.Copy(OrdersConfig, orders);

        DevCertRun run = Graph("mermaid", "--config", orders, "--config", BillingConfig);

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains($"cannot tell the SPIFFE ID of '{orders}': its certificate '{Path.GetFullPath(Path.Combine(folder.Path, "../certs/orders.pem"))}' does not exist", run.Error);
        Assert.Contains($"--config spiffe://…={orders}", run.Error);
        Assert.AreEqual(string.Empty, run.Output, run.ToString());
    }

    /// <summary>
    /// Observed decisions on the edges: billing's log shows orders allowed twice and analytics denied once; orders's log
    /// shows no call, so the frontend's grant there is a candidate to remove.
    /// </summary>
    [TestMethod]
    public void AuditOverlay_CountsDecisionsPerEdge_AndMarksUnusedGrants()
    {
        using var folder = new TemporaryFolder();
        string billingLog = folder.File("billing.log");
        File.WriteAllLines(billingLog,
        [
            "info: SecureComms.Authorization[1401]",
            "      SecureComms allowed spiffe://example.org/orders (user (none)) GET /invoices: AllowedByRule, rule orders-reads-invoices",
            """{"EventId":1401,"LogLevel":"Information","Category":"SecureComms.Authorization","State":{"Caller":"spiffe://example.org/orders","User":"(none)","Method":"GET","Route":"/invoices","Reason":"AllowedByRule","Rule":"orders-reads-invoices"}}""",
            "warn: SecureComms.Authorization[1400]",
            "      SecureComms denied spiffe://example.org/analytics (user (none)) GET /invoices: NoMatchingRule, rule (none) (403)",
        ]);
        string ordersLog = folder.File("orders.log");
        File.WriteAllText(ordersLog, "info: Microsoft.Hosting.Lifetime[0]\n      Application started.\n");

        DevCertRun run = Graph(
            "dot",
            "--config", $"{Orders}={OrdersConfig}", "--config", BillingConfig, "--config", $"{Analytics}={AnalyticsConfig}",
            "--audit", $"{Billing}={billingLog}", "--audit", $"{Orders}={ordersLog}");

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.Contains("\"spiffe://example.org/orders\" -> \"spiffe://example.org/billing\" [label=\"GET /invoices [invoices.read]\\nobserved: 2 allowed\"];", run.Output);
        Assert.Contains("\"spiffe://example.org/analytics\" -> \"spiffe://example.org/billing\" [label=\"client billing\\nproblem: no rule allows this caller\\nobserved: 1 denied\",", run.Output);
        Assert.Contains("\"spiffe://example.org/frontend\" -> \"spiffe://example.org/orders\" [label=\"GET /orders/*\\n0 calls observed: candidate to remove\",", run.Output);
        Assert.Contains("unused: spiffe://example.org/frontend -> spiffe://example.org/orders (frontend-reads-orders) allowed no observed call; a candidate to remove.", run.Error);
    }

    [TestMethod]
    public void AuditLogWithoutItsService_IsAUsageError_WhenSeveralServicesAreDrawn()
    {
        DevCertRun run = Graph("dot", "--config", $"{Orders}={OrdersConfig}", "--config", BillingConfig, "--audit", "billing.log");

        Assert.AreEqual(2, run.ExitCode, run.ToString());
        Assert.Contains("name the service whose log it is", run.Error);
    }

    private static DevCertRun Graph(string format, params string[] args) => DevCertRun.Of(["policy", "graph", "--format", format, .. args]);
}
