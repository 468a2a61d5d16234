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
    [DataRow("ca create", "securecomms-dev ca create [options]")]
    [DataRow("issue", "securecomms-dev issue [options]")]
    [DataRow("bundle", "securecomms-dev bundle [options]")]
    [DataRow("inspect", "securecomms-dev inspect <certificate.pem> [options]")]
    [DataRow("check", "securecomms-dev check <appsettings.json> [options]")]
    public void EachCommand_HasItsOwnHelp(string command, string expectedUsage)
    {
        DevCertRun run = DevCertRun.Of([.. command.Split(' '), "--help"]);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.Contains("Usage:", run.Output);
        Assert.Contains(expectedUsage, run.Output);
        Assert.AreEqual(string.Empty, run.Error);
    }

    [TestMethod]
    [DataRow(new string[0], "Required command was not provided")]
    [DataRow(new[] { "frobnicate" }, "Unrecognized command or argument 'frobnicate'")]
    [DataRow(new[] { "ca", "delete" }, "Unrecognized command or argument 'delete'")]
    [DataRow(new[] { "issue", "--ca" }, "Required argument missing for option: '--ca'")]
    [DataRow(new[] { "issue", "--ca=", "--spiffe-id", "spiffe://example.org/a", "--out", "y" }, "--ca needs a value")]
    [DataRow(new[] { "issue", "--colour", "red" }, "Unrecognized command or argument '--colour'")]
    [DataRow(new[] { "issue", "--ca", "x", "--out", "y" }, "Option '--spiffe-id' is required")]
    [DataRow(new[] { "ca", "create", "--trust-domain", "Example.ORG", "--out", "x" }, "--trust-domain 'Example.ORG'")]
    [DataRow(new[] { "ca", "create", "--trust-domain", "example.org", "--out", "x", "--lifetime", "soon" }, "--lifetime 'soon'")]
    [DataRow(new[] { "ca", "create", "--trust-domain", "example.org", "--trust-domain", "example.com" }, "Option '--trust-domain' expects a single argument but 2 were provided")]
    [DataRow(new[] { "inspect" }, "Required argument missing for command: 'inspect'")]
    [DataRow(new[] { "inspect", "a.pem", "--side", "left" }, "--side 'left'")]
    [DataRow(new[] { "check", "a.json", "b.json" }, "Unrecognized command or argument 'b.json'")]
    public void UsageErrors_ExitTwo_WithAMessage(string[] args, string expected)
    {
        DevCertRun run = DevCertRun.Of(args);

        Assert.AreEqual(2, run.ExitCode, run.ToString());
        Assert.Contains(expected, run.Error);
        Assert.Contains("--help' for usage.", run.Error, "a pointer to the command's help");
        Assert.AreEqual(string.Empty, run.Output);
    }

    [TestMethod]
    [DataRow("help")]
    [DataRow("-h")]
    [DataRow("-?")]
    public void HelpSpellings_ShowTheCommands_AndExitZero(string spelling)
    {
        DevCertRun run = DevCertRun.Of(spelling);

        Assert.AreEqual(0, run.ExitCode, run.ToString());
        Assert.Contains("securecomms-dev [command] [options]", run.Output);
    }

    [TestMethod]
    public void AnArgumentStartingWithAt_IsAFileName_NotAResponseFile()
    {
        using var folder = new TemporaryFolder();
        File.WriteAllText(folder.File("args.rsp"), "--help");

        DevCertRun run = DevCertRun.Of("check", "@" + folder.File("args.rsp"));

        Assert.AreEqual(1, run.ExitCode, run.ToString());
        Assert.Contains("cannot read '@", run.Error);
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
