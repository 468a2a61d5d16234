using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace SecureComms.Tests.Fakes;

/// <summary>Collects log events for assertions; thread-safe.</summary>
internal class ListLogger : ILogger
{
    private readonly ConcurrentQueue<(int EventId, LogLevel Level, string Message)> _entries = new();

    public IReadOnlyCollection<(int EventId, LogLevel Level, string Message)> Entries => _entries;

    public bool Contains(int eventId, string text) =>
        _entries.Any(e => e.EventId == eventId && e.Message.Contains(text, StringComparison.Ordinal));

    public int Count(int eventId) => _entries.Count(e => e.EventId == eventId);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue((eventId.Id, logLevel, formatter(state, exception)));
}

/// <summary>A <see cref="ListLogger"/> for constructors that take an <see cref="ILogger{TCategoryName}"/>.</summary>
internal sealed class ListLogger<T> : ListLogger, ILogger<T>;

/// <summary>A logger factory whose every logger is the one <see cref="ListLogger"/>, for types that take an <see cref="ILoggerFactory"/>.</summary>
internal sealed class ListLoggerFactory(ListLogger logger) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => logger;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }
}
