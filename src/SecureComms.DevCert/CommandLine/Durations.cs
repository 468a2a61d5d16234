using System.Globalization;

namespace SecureComms.DevCert;

/// <summary>Reads and writes lifetimes such as <c>90s</c>, <c>15m</c>, <c>24h</c> and <c>30d</c>.</summary>
internal static class Durations
{
    /// <summary>
    /// Parses a positive whole number followed by <c>s</c>, <c>m</c>, <c>h</c> or <c>d</c>, or a .NET time span
    /// (<c>1.00:00:00</c>).
    /// </summary>
    public static bool TryParse(string text, out TimeSpan duration)
    {
        duration = default;
        if (text.Length >= 2 && long.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out long amount))
        {
            try
            {
                duration = text[^1] switch
                {
                    's' => TimeSpan.FromSeconds(amount),
                    'm' => TimeSpan.FromMinutes(amount),
                    'h' => TimeSpan.FromHours(amount),
                    'd' => TimeSpan.FromDays(amount),
                    _ => TimeSpan.Zero,
                };
            }
            catch (OverflowException)
            {
                return false;
            }

            return duration > TimeSpan.Zero;
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out duration) && duration > TimeSpan.Zero;
    }

    /// <summary>Formats a duration for people: <c>30d</c>, <c>23h 59m</c>, <c>45s</c>.</summary>
    public static string Format(TimeSpan duration)
    {
        TimeSpan value = duration.Duration();
        if (value.TotalDays >= 2)
        {
            return value.Hours == 0
                ? string.Create(CultureInfo.InvariantCulture, $"{(int)value.TotalDays}d")
                : string.Create(CultureInfo.InvariantCulture, $"{(int)value.TotalDays}d {value.Hours}h");
        }

        if (value.TotalHours >= 1)
        {
            return value.Minutes == 0
                ? string.Create(CultureInfo.InvariantCulture, $"{(int)value.TotalHours}h")
                : string.Create(CultureInfo.InvariantCulture, $"{(int)value.TotalHours}h {value.Minutes}m");
        }

        if (value.TotalMinutes >= 1)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{(int)value.TotalMinutes}m");
        }

        return string.Create(CultureInfo.InvariantCulture, $"{(int)value.TotalSeconds}s");
    }

    /// <summary>An instant as <c>2025-01-31T12:00:00Z</c>.</summary>
    public static string FormatInstant(DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
