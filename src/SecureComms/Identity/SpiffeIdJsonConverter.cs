using System.Text.Json;
using System.Text.Json.Serialization;

namespace SecureComms;

/// <summary>
/// Writes a <see cref="SpiffeId"/> as its JSON string (<c>"spiffe://example.org/orders"</c>; <see langword="null"/> for
/// the empty value) and reads it back with <see cref="SpiffeId.Parse(string)"/>, also as a dictionary key. Applied to
/// the type, so <c>Results.Ok(new { caller = context.GetCallerSpiffeId() })</c> and MVC results need no set-up.
/// </summary>
public sealed class SpiffeIdJsonConverter : JsonConverter<SpiffeId>
{
    /// <inheritdoc/>
    public override bool HandleNull => true;

    /// <inheritdoc/>
    public override SpiffeId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.TokenType == JsonTokenType.Null ? default : Parse(reader.TokenType == JsonTokenType.String ? reader.GetString() : null);

    /// <inheritdoc/>
    public override void Write(Utf8JsonWriter writer, SpiffeId value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value.IsEmpty)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value.ToString());
        }
    }

    /// <inheritdoc/>
    public override SpiffeId ReadAsPropertyName(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        Parse(reader.GetString());

    /// <inheritdoc/>
    public override void WriteAsPropertyName(Utf8JsonWriter writer, SpiffeId value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WritePropertyName(value.ToString());
    }

    private static SpiffeId Parse(string? text) =>
        SpiffeId.TryParse(text, out SpiffeId id, out string? error) ? id : throw new JsonException($"Not a valid SPIFFE ID: {error}");
}
