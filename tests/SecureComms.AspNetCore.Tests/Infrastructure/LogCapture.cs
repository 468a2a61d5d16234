using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SecureComms.AspNetCore.Tests.Infrastructure;

/// <summary>Captures log events (id, level, rendered message) from every logger of a host.</summary>
internal sealed class LogCapture : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyCollection<LogEntry> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public bool Contains(int eventId, string text) =>
        _entries.Any(e => e.EventId == eventId && e.Message.Contains(text, StringComparison.Ordinal));

    public void Dispose()
    {
    }

    internal sealed record LogEntry(string Category, int EventId, LogLevel Level, string Message);

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._entries.Enqueue(new LogEntry(category, eventId.Id, logLevel, formatter(state, exception)));
    }
}
