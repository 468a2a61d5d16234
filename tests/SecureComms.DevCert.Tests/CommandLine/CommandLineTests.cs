namespace SecureComms.DevCert.Tests;

[TestClass]
public sealed class CommandLineTests
{
    [TestMethod]
    public void Help_ListsEveryCommand_AndExitsZero()
    {
        DevCertRun run = DevCertRun.Of("--help");

        Assert.AreEqual(0, run.ExitCode);
        foreach (string command in (string[])["ca create", "issue", "bundle", "inspect", "check"])
        {
            Assert.Contains(command, run.Output);
        }
    }

    [TestMethod]
    [DataRow("ca create", "Usage: securecomms-dev ca create")]
    [DataRow("issue", "Usage: securecomms-dev issue")]
    [DataRow("bundle", "Usage: securecomms-dev bundle")]
    [DataRow("inspect", "Usage: securecomms-dev inspect")]
    [DataRow("check", "Usage: securecomms-dev check")]
    public void EachCommand_HasItsOwnHelp(string command, string expected)
    {
        DevCertRun run = DevCertRun.Of([.. command.Split(' '), "--help"]);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.StartsWith(expected, run.Output);
    }

    [TestMethod]
    [DataRow(new string[0], "Usage: securecomms-dev <command>")]
    [DataRow(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    [DataRow(new[] { "ca", "delete" }, "unknown 'ca' command")]
    [DataRow(new[] { "issue", "--ca" }, "--ca needs a value")]
    [DataRow(new[] { "issue", "--colour", "red" }, "unknown option '--colour'")]
    [DataRow(new[] { "issue", "--ca", "x", "--out", "y" }, "--ca, --spiffe-id and --out are required")]
    [DataRow(new[] { "ca", "create", "--trust-domain", "Example.ORG", "--out", "x" }, "--trust-domain 'Example.ORG'")]
    [DataRow(new[] { "ca", "create", "--trust-domain", "example.org", "--out", "x", "--lifetime", "soon" }, "--lifetime 'soon'")]
    [DataRow(new[] { "ca", "create", "--trust-domain", "example.org", "--trust-domain", "example.com" }, "given twice")]
    [DataRow(new[] { "inspect" }, "exactly one certificate file")]
    [DataRow(new[] { "inspect", "a.pem", "--side", "left" }, "--side 'left'")]
    [DataRow(new[] { "check", "a.json", "b.json" }, "exactly one appsettings JSON file")]
    public void UsageErrors_ExitTwo_WithAMessage(string[] args, string expected)
    {
        DevCertRun run = DevCertRun.Of(args);

        Assert.AreEqual(2, run.ExitCode, run.ToString());
        Assert.Contains(expected, run.Error);
    }

    [TestMethod]
    [DataRow("90s", 90)]
    [DataRow("15m", 900)]
    [DataRow("24h", 86400)]
    [DataRow("30d", 2592000)]
    [DataRow("01:00:00", 3600)]
    public void Durations_Parse(string text, int seconds)
    {
        Assert.IsTrue(Durations.TryParse(text, out TimeSpan duration));
        Assert.AreEqual(TimeSpan.FromSeconds(seconds), duration);
    }

    [TestMethod]
    [DataRow("0h")]
    [DataRow("-1h")]
    [DataRow("1w")]
    [DataRow("h")]
    [DataRow("99999999999999d")]
    public void Durations_RefuseNonsense(string text)
    {
        Assert.IsFalse(Durations.TryParse(text, out _));
    }
}
