namespace SecureComms.DevCert.Tests;

/// <summary>Runs the tool's own <c>ca create</c>, <c>issue</c> and <c>bundle</c> into a temporary folder.</summary>
internal static class SavedCa
{
    public const string TrustDomainName = "example.org";
    public const string OrdersId = "spiffe://example.org/orders";

    public static void CreateIssueAndBundle(TemporaryFolder folder)
    {
        Require(DevCertRun.Of("ca", "create", "--trust-domain", TrustDomainName, "--out", folder.Path));
        Require(DevCertRun.Of("issue", "--ca", folder.Path, "--spiffe-id", OrdersId, "--out", folder.Path, "--lifetime", "1h"));
        Require(DevCertRun.Of("bundle", "--ca", folder.Path, "--out", folder.Path));
    }

    public static void Require(DevCertRun run) => Assert.AreEqual(0, run.ExitCode, run.ToString());
}
