{#- SQL, not Python (the one SQL model in models/ml): the kept model is data, so scoring it is
    portable SQL that any warehouse runs without Python and without refitting. -#}
{{ kept_model_scoring(
    features=ref('fct_customer_features'),
    params=ref('ml_feature_transform_params'),
    representatives=ref('ml_segment_representatives'),
    model=ref('ml_segment_model'),
) }}
