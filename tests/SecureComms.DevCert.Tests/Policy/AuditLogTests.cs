using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace SecureComms.DevCert.Tests;

/// <summary>
/// The decision events as the services write them: their own <c>[LoggerMessage]</c> methods, formatted by the console
/// formatters of Microsoft.Extensions.Logging (<c>AddSimpleConsole</c>, the default, and <c>AddJsonConsole</c>).
/// </summary>
[TestClass]
public sealed class AuditLogTests
{
    private static readonly SpiffeId Orders = SpiffeId.Parse("spiffe://example.org/orders");

    [TestMethod]
    [DataRow(ConsoleFormatterNames.Simple, false)]
    [DataRow(ConsoleFormatterNames.Simple, true)]
    [DataRow(ConsoleFormatterNames.Json, false)]
    public void DecisionEvents_OfTheServicesOwnLogs_AreRead(string formatterName, bool singleLine)
    {
        string log = Write(formatterName, singleLine, logger =>
        {
            PolicyLog.Reloaded(logger, 3, dryRun: true, "2026-12-07.1", "9f2c0d1e"); // 1411: not a decision
            PolicyLog.DryRunDecision(logger, Orders.ToString(), "GET", "/invoices/42", "denied", "NoMatchingRule", "(none)");
            AuthorizationLog.RequestAllowed(logger, Orders, "alice", "POST", "/invoices/{id}/payments", "AllowedByRule", "payments");
            AuthorizationLog.RequestDenied(logger, "spiffe://example.org/analytics", "(none)", "GET", "/invoices/{id}", "NoMatchingRule", "(none)", 403);
        });

        List<AuditEvent> events = Read(log, out int unreadable);

        Assert.AreEqual(0, unreadable, log);
        Assert.HasCount(3, events, log);
        Assert.AreEqual(new AuditEvent(1413, Orders.ToString(), "GET", "/invoices/42", "NoMatchingRule", "(none)", null, null), events[0], log);
        Assert.AreEqual(1401, events[1].EventId, log);
        Assert.AreEqual((Orders.ToString(), "POST", "/invoices/{id}/payments", "AllowedByRule", "payments", "alice"), (events[1].Caller, events[1].Method, events[1].Target, events[1].Reason, events[1].Rule, events[1].User), log);
        Assert.AreEqual(1400, events[2].EventId, log);
        Assert.AreEqual(("spiffe://example.org/analytics", "GET", "/invoices/{id}", "NoMatchingRule", "(none)"), (events[2].Caller, events[2].Method, events[2].Target, events[2].Reason, events[2].Rule), log);
    }

    private static List<AuditEvent> Read(string log, out int unreadable)
    {
        using var folder = new TemporaryFolder();
        string path = folder.File("service.log");
        File.WriteAllText(path, log);
        var problems = new List<string>();
        List<AuditEvent> events = AuditLog.Read([path], problems, out unreadable);
        Assert.IsEmpty(problems);
        return events;
    }

    /// <summary>What the console logger would print for the events <paramref name="log"/> writes.</summary>
    private static string Write(string formatterName, bool singleLine, Action<ILogger> log)
    {
        var services = new ServiceCollection();
        services.AddLogging(builder => builder
            .AddSimpleConsole(options =>
            {
                options.SingleLine = singleLine;
                options.ColorBehavior = LoggerColorBehavior.Disabled;
            })
            .AddJsonConsole());
        using ServiceProvider provider = services.BuildServiceProvider();
        ConsoleFormatter formatter = provider.GetServices<ConsoleFormatter>().Single(f => f.Name == formatterName);
        using var output = new StringWriter();
        log(new FormattingLogger(formatter, "SecureComms.Authorization", output));
        return output.ToString();
    }

    private sealed class FormattingLogger(ConsoleFormatter formatter, string category, TextWriter output) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> format) =>
            formatter.Write(new LogEntry<TState>(logLevel, category, eventId, state, exception, format), new LoggerExternalScopeProvider(), output);
    }
}
