using Microsoft.Extensions.Logging;

namespace SecureComms;

/// <summary>Configuration reload events (event ids 1900–1999). Keys and file names, never values of secrets.</summary>
internal static partial class ConfigurationLog
{
    internal const string Category = "SecureComms.Configuration";

    [LoggerMessage(EventId = 1900, Level = LogLevel.Warning, Message = "SecureComms rejected a configuration change of {Section} and keeps the last good settings: {Problems}")]
    internal static partial void ReloadRejected(ILogger logger, string section, string problems);

    [LoggerMessage(EventId = 1901, Level = LogLevel.Debug, Message = "SecureComms applied the configuration of {Section}")]
    internal static partial void ReloadApplied(ILogger logger, string section);

    [LoggerMessage(EventId = 1902, Level = LogLevel.Warning, Message = "SecureComms could not reload the configuration file {Path}: {Error}. Its settings are out of the configuration until the file is fixed; SecureComms keeps its last good settings meanwhile")]
    internal static partial void FileUnreadable(ILogger logger, string path, string error);

    [LoggerMessage(EventId = 1903, Level = LogLevel.Debug, Message = "SecureComms keeps the last good settings of {Section}: the configuration file {Path} cannot be read")]
    internal static partial void ReloadDeferred(ILogger logger, string section, string path);
}
